//go:build !unix

package body

// cpuSeconds is not measured here (TestOpeningCost then reports 0).
func cpuSeconds() float64 { return 0 }
