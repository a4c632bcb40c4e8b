//go:build unix

package body

import "syscall"

// cpuSeconds is this process's CPU time so far (user + system): the
// machine's other load does not count in it, as it does in the wall time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
