//go:build unix

package main

import (
	"fmt"
	"syscall"
)

// raiseNoFile raises this process's limit of open files to need (each of
// bench evacuation's streams is one), up to the hard limit.
func raiseNoFile(need uint64) error {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return err
	}
	if l.Cur >= need {
		return nil
	}
	if l.Max < need {
		return fmt.Errorf("bench: %d open files needed, the hard limit is %d: raise it (ulimit -Hn, or LimitNOFILE in systemd)", need, l.Max)
	}
	l.Cur = need
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
}
