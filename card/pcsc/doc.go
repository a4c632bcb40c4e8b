// Package pcsc is a card.Transport over PC/SC (the PC/SC Workgroup
// specification, part 5, as implemented by pcsc-lite's pcscd), for talking to
// real My Number Cards and to the emulator plugged in through vsmartcard-vpcd.
//
// It needs cgo and libpcsclite (github.com/ebfe/scard), so it is built only
// with the build tag "pcsc"; the rest of mynaplat stays cgo-free.
package pcsc
