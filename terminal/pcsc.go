//go:build pcsc

package terminal

import (
	"fmt"
	"net/http"
	"sync"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/card/pcsc"
)

// PCSCReader is a real card reader through PC/SC (pcscd). The card is
// whatever lies on it; the connection is opened when first needed and
// opened again after the card was taken away.
type PCSCReader struct {
	Name string
	mu   sync.Mutex
	t    *pcsc.Transport
}

// NewPCSCReader returns a reader for the PC/SC reader of that name (or
// whose name starts with it).
func NewPCSCReader(name string) (Reader, error) { return &PCSCReader{Name: name}, nil }

// Card connects to the card on the reader.
func (p *PCSCReader) Card(_ *http.Request, _ string) (card.Transport, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.t != nil {
		// A card still there answers a SELECT of the JPKI AP; one taken away
		// makes Transmit fail, and the next call connects afresh.
		return &pcscCard{p}, nil
	}
	t, err := pcsc.Open(p.Name)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoCard, err)
	}
	p.t = t
	return &pcscCard{p}, nil
}

// Virtual is false: the person puts the card on the reader.
func (*PCSCReader) Virtual() bool { return false }

// pcscCard forwards APDUs and drops a broken connection.
type pcscCard struct{ r *PCSCReader }

func (c *pcscCard) Transmit(cmd []byte) ([]byte, error) {
	c.r.mu.Lock()
	t := c.r.t
	c.r.mu.Unlock()
	if t == nil {
		return nil, ErrNoCard
	}
	resp, err := t.Transmit(cmd)
	if err != nil {
		c.r.mu.Lock()
		if c.r.t == t {
			t.Close()
			c.r.t = nil
		}
		c.r.mu.Unlock()
	}
	return resp, err
}
