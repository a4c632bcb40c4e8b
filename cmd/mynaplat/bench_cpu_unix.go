//go:build unix

package main

import (
	"syscall"
	"time"
)

// ownCPU is this process's CPU time so far (user + system), for the
// bench's own CPU per operation beside the server's.
func ownCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
