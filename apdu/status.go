package apdu

import "fmt"

// StatusWord is SW1-SW2 as one 16-bit value (ISO/IEC 7816-4 §5.6).
type StatusWord uint16

// Status words used by the JPKI and text applications (jpki-card.md §4) and
// by the emulator for conditions the reference leaves open.
const (
	OK                        StatusWord = 0x9000 // normal processing
	EndOfFileWarning          StatusWord = 0x6282 // end of file reached before Le bytes
	VerifyFailed              StatusWord = 0x63C0 // 63Cx: wrong PIN or retry query, x tries left (use RetriesLeft)
	MemoryFailure             StatusWord = 0x6581 // persistent memory could not be written
	WrongLength               StatusWord = 0x6700 // Lc or Le wrong
	LogicalChannelUnsupported StatusWord = 0x6881
	SecureMessagingUnsupp     StatusWord = 0x6882 // CLA asks for secure messaging
	IncompatibleFile          StatusWord = 0x6981 // command incompatible with file structure
	SecurityStatus            StatusWord = 0x6982 // security status not satisfied
	AuthMethodBlocked         StatusWord = 0x6983
	RefDataNotUsable          StatusWord = 0x6984 // PIN blocked (JICSAP 5.2.2)
	ConditionsNotSatisfied    StatusWord = 0x6985
	NoCurrentEF               StatusWord = 0x6986 // command not allowed, no current EF
	WrongData                 StatusWord = 0x6A80 // incorrect parameters in the data field
	FileNotFound              StatusWord = 0x6A82 // file or application not found
	IncorrectP1P2             StatusWord = 0x6A86
	RefDataNotFound           StatusWord = 0x6A88 // referenced data (key, PIN) not found
	WrongParamsOffset         StatusWord = 0x6B00 // offset outside the EF
	INSNotSupported           StatusWord = 0x6D00
	CLANotSupported           StatusWord = 0x6E00
	NoPreciseDiagnosis        StatusWord = 0x6F00
)

// Retries returns the 63Cx status word for n tries left (n is clamped to 0–15).
func Retries(n int) StatusWord {
	return VerifyFailed | StatusWord(min(max(n, 0), 15))
}

// SW1 is the first status byte.
func (sw StatusWord) SW1() byte { return byte(sw >> 8) }

// SW2 is the second status byte.
func (sw StatusWord) SW2() byte { return byte(sw) }

// RetriesLeft reports x for a 63Cx status word.
func (sw StatusWord) RetriesLeft() (int, bool) {
	if sw&0xFFF0 != 0x63C0 {
		return 0, false
	}
	return int(sw & 0x0F), true
}

var swNames = map[StatusWord]string{
	OK:                        "success",
	EndOfFileWarning:          "end of file reached",
	MemoryFailure:             "memory failure",
	WrongLength:               "wrong length",
	LogicalChannelUnsupported: "logical channel not supported",
	SecureMessagingUnsupp:     "secure messaging not supported",
	IncompatibleFile:          "command incompatible with file structure",
	SecurityStatus:            "security status not satisfied",
	AuthMethodBlocked:         "authentication method blocked",
	RefDataNotUsable:          "reference data not usable (blocked)",
	ConditionsNotSatisfied:    "conditions of use not satisfied",
	NoCurrentEF:               "command not allowed (no current EF)",
	WrongData:                 "incorrect data field",
	FileNotFound:              "file or application not found",
	IncorrectP1P2:             "incorrect P1-P2",
	RefDataNotFound:           "referenced data not found",
	WrongParamsOffset:         "offset outside the file",
	INSNotSupported:           "instruction not supported",
	CLANotSupported:           "class not supported",
	NoPreciseDiagnosis:        "no precise diagnosis",
}

// String renders the status word as hex with its meaning, e.g.
// "6982 (security status not satisfied)".
func (sw StatusWord) String() string {
	if n, ok := sw.RetriesLeft(); ok {
		return fmt.Sprintf("%04X (verification failed, %d tries left)", uint16(sw), n)
	}
	if name, ok := swNames[sw]; ok {
		return fmt.Sprintf("%04X (%s)", uint16(sw), name)
	}
	return fmt.Sprintf("%04X", uint16(sw))
}

// StatusError is a non-9000 answer from a card. Drivers return it (wrapped or
// not) for status words they have no more specific error for; callers match
// it with errors.As.
type StatusError struct {
	SW StatusWord
	// Op names the command that failed, e.g. "SELECT 0017"; may be empty.
	Op string
}

func (e *StatusError) Error() string {
	if e.Op == "" {
		return "card answered " + e.SW.String()
	}
	return e.Op + ": card answered " + e.SW.String()
}
