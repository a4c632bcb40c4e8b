//go:build !linux

package main

import (
	"bufio"
	"errors"
	"io"
	"os"
)

// isTerminal is false off Linux: the PIN is then read as a line of
// standard input or from --pin-file.
func isTerminal(*os.File) bool { return false }

// readHidden is not offered off Linux, where turning the echo off would
// need another dependency.
func readHidden(*bufio.Reader, *os.File, io.Writer, string) (string, error) {
	return "", errors.New("read the PIN from --pin-file or standard input on this system")
}
