//go:build !pcsc

package main

import "github.com/mynaplat/mynaplat/terminal"

// pcscReader is nil without the pcsc build tag: --reader needs it.
var pcscReader func(name string) (terminal.Reader, error)
