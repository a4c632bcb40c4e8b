//go:build pcsc

package main

import "github.com/mynaplat/mynaplat/terminal"

// pcscReader opens real PC/SC readers for --reader TERMINAL=pcsc:NAME.
var pcscReader = terminal.NewPCSCReader
