//go:build pcsc

package pcsc

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/ebfe/scard"

	"github.com/mynaplat/mynaplat/card"
)

// ErrNoReader: no reader matches the requested name.
var ErrNoReader = errors.New("pcsc: no such reader")

// Transport is a connection to the card in one reader.
type Transport struct {
	mu     sync.Mutex
	ctx    *scard.Context
	card   *scard.Card
	reader string
}

var _ card.Transport = (*Transport)(nil)

// Readers lists the names of the readers pcscd knows.
func Readers() ([]string, error) {
	ctx, err := scard.EstablishContext()
	if err != nil {
		return nil, fmt.Errorf("pcsc: establish context: %w", err)
	}
	defer ctx.Release()
	return listReaders(ctx)
}

func listReaders(ctx *scard.Context) ([]string, error) {
	readers, err := ctx.ListReaders()
	if errors.Is(err, scard.ErrNoReadersAvailable) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pcsc: list readers: %w", err)
	}
	for i, r := range readers {
		readers[i] = strings.TrimRight(r, "\x00")
	}
	return readers, nil
}

// Open connects (shared, T=1 or T=0) to the card in the reader named
// readerName: an exact name wins, otherwise the first reader whose name starts
// with readerName; an empty name means the first reader.
func Open(readerName string) (*Transport, error) {
	ctx, err := scard.EstablishContext()
	if err != nil {
		return nil, fmt.Errorf("pcsc: establish context: %w", err)
	}
	readers, err := listReaders(ctx)
	if err != nil {
		ctx.Release()
		return nil, err
	}
	reader, ok := pick(readers, readerName)
	if !ok {
		ctx.Release()
		return nil, fmt.Errorf("%w: %q (have %q)", ErrNoReader, readerName, readers)
	}
	c, err := ctx.Connect(reader, scard.ShareShared, scard.ProtocolAny)
	if err != nil {
		ctx.Release()
		return nil, fmt.Errorf("pcsc: connect to %q: %w", reader, err)
	}
	return &Transport{ctx: ctx, card: c, reader: reader}, nil
}

func pick(readers []string, name string) (string, bool) {
	for _, r := range readers {
		if r == name {
			return r, true
		}
	}
	for _, r := range readers {
		if strings.HasPrefix(r, name) {
			return r, true
		}
	}
	return "", false
}

// Reader returns the name of the connected reader.
func (t *Transport) Reader() string { return t.reader }

// Transmit sends a command APDU and returns the response APDU.
func (t *Transport) Transmit(cmd []byte) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.card == nil {
		return nil, errors.New("pcsc: transport closed")
	}
	resp, err := t.card.Transmit(cmd)
	if err != nil {
		return nil, fmt.Errorf("pcsc: transmit: %w", err)
	}
	return resp, nil
}

// Close disconnects, leaving the card powered, and releases the context.
func (t *Transport) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.card == nil {
		return nil
	}
	err := t.card.Disconnect(scard.LeaveCard)
	if rerr := t.ctx.Release(); err == nil {
		err = rerr
	}
	t.card, t.ctx = nil, nil
	if err != nil {
		return fmt.Errorf("pcsc: close: %w", err)
	}
	return nil
}
