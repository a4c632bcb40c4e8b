//go:build !unix

package main

import "time"

// ownCPU is not measured here: the bench reports no client CPU.
func ownCPU() (time.Duration, bool) { return 0, false }
