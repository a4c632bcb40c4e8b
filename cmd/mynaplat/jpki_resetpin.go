package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/counter"
	"github.com/mynaplat/mynaplat/jpki"
)

// jpkiResetPIN is the counter's PIN reset (暗証番号の初期化・再設定) from the
// command line: the centre records it with its approval, then the card takes
// the new PIN under the store's management key. The new PIN is read from
// the terminal without echo (twice), from standard input, or from a file,
// never from the command line, where other users and the shell's history
// would see it.
func jpkiResetPIN(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error {
	var d dataFlags
	d.register(fs)
	id := cardFlag(fs)
	which := fs.String("pin", "", "the PIN to reset: auth (利用者証明用), sign (署名用パスワード) or text (券面事項入力補助用)")
	pinFile := fs.String("pin-file", "", "read the new PIN from the first line of this file (- for standard input); without it, from the terminal without echo, or from standard input")
	approver := fs.String("approved-by", "", "who approved the reset (default: operator:<your user name>)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("新しい暗証番号はコマンド行では受け付けません。--pin-file か標準入力で渡してください / the new PIN is never taken from the command line: use --pin-file or standard input")
	}
	k, err := jpki.ParsePINKind(*which)
	if err != nil {
		return usageErrorf("--pin は auth・sign・text のいずれかです / --pin must be auth, sign or text")
	}
	if *id == "" {
		return usageErrorf("--card でカードを指定してください / give the card with --card")
	}
	a := jpki.Approval{By: *approver}
	if a.By == "" {
		a.By = "operator:" + operatorName()
	}
	pin, err := readNewPIN(*pinFile, k)
	if err != nil {
		return err
	}
	w, err := jpkiWorld(ctx, d)
	if err != nil {
		return err
	}
	defer w.Close()
	cd, err := w.cards.Open(*id)
	if err != nil {
		return err
	}
	got, err := w.centre.ResetPIN(ctx, counter.ReaderCard{Card: cd, CardID: *id, SAM: w.cards.SAM()}, k, a, pin)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "reset the %s PIN of card %s (approved by %s); it has %d tries again\n", got.PIN, got.CardID, got.Approval.By, counter.CardPIN(k).MaxTries())
	return nil
}

// operatorName is the login name of who runs the command.
func operatorName() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}

// readNewPIN reads the new PIN for k: the first line of file (- is
// standard input), or, with no file, twice from the terminal without echo,
// or the first line of standard input when it is not a terminal. The
// format is checked here, before the centre records anything.
func readNewPIN(file string, k jpki.PINKind) (string, error) {
	var pin string
	switch {
	case file == "-" || file == "" && !isTerminal(os.Stdin):
		line, err := firstLine(os.Stdin)
		if err != nil {
			return "", fmt.Errorf("read the new PIN from standard input: %w", err)
		}
		pin = line
	case file != "":
		f, err := os.Open(file)
		if err != nil {
			return "", err
		}
		defer f.Close()
		if pin, err = firstLine(f); err != nil {
			return "", fmt.Errorf("read the new PIN from %s: %w", file, err)
		}
	default:
		in := bufio.NewReader(os.Stdin)
		first, err := readHidden(in, os.Stdin, os.Stderr, "新しい暗証番号 / new PIN: ")
		if err != nil {
			return "", err
		}
		again, err := readHidden(in, os.Stdin, os.Stderr, "もう一度 / again: ")
		if err != nil {
			return "", err
		}
		if normalizeNewPIN(k, first) != normalizeNewPIN(k, again) {
			return "", errors.New("2回の入力が一致しません / the two entries differ")
		}
		pin = first
	}
	pin = normalizeNewPIN(k, pin)
	if card.ValidatePIN(counter.CardPIN(k), pin) != nil {
		if k == jpki.PINSign {
			return "", errors.New("署名用パスワードは英大文字と数字の6〜16文字です / the signing password is 6 to 16 letters A–Z and digits")
		}
		return "", errors.New("暗証番号は数字4桁です / the PIN is 4 digits")
	}
	return pin, nil
}

func normalizeNewPIN(k jpki.PINKind, s string) string {
	s = strings.TrimSpace(s)
	if k == jpki.PINSign {
		return strings.ToUpper(s)
	}
	return s
}

// firstLine is the first line of r, without its line end.
func firstLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && (!errors.Is(err, io.EOF) || line == "") {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
