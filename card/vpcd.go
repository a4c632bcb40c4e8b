package card

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/mynaplat/mynaplat/apdu"
)

// DefaultVPCDAddr is where vsmartcard's pcscd driver waits for the virtual
// card of its first slot ("Virtual PCD 00 00", port 0x8C7B).
const DefaultVPCDAddr = "127.0.0.1:35963"

// vpcd control codes: a message of length 1 from vpcd (jpki-card.md §9.1).
const (
	vpcdPowerOff = 0x00
	vpcdPowerOn  = 0x01
	vpcdReset    = 0x02
	vpcdGetATR   = 0x04
)

// Redial backoff bounds: quick enough that a restarted pcscd finds the card
// again within seconds, slow enough not to spin when nothing listens.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// ServeVPCD plugs c into pcscd through vsmartcard-vpcd: it dials vpcd at addr
// (DefaultVPCDAddr when empty) as the virtual card and answers it until ctx is
// done, then returns nil. Each message, both ways, is a 2-byte big-endian
// length and the payload. One-byte messages are control codes: 00 power off,
// 01 power on and 02 reset (no reply; the card's security state is cleared)
// and 04, which asks for the ATR at any time and is not a reset — pcscd polls
// with 01 04 to see whether the card is still there. Anything longer is a
// command APDU, answered with the response APDU. When the connection drops
// (pcscd restarted), ServeVPCD dials again with exponential backoff.
//
// Only headers and status words are logged, at debug level: command data can
// be a PIN.
func ServeVPCD(ctx context.Context, addr string, c *Card, logger *slog.Logger) error {
	if addr == "" {
		addr = DefaultVPCDAddr
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("card", c.ID(), "vpcd", addr)
	backoff := minBackoff
	var d net.Dialer
	for {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if ctx.Err() != nil {
			if conn != nil {
				conn.Close()
			}
			return nil
		}
		if err != nil {
			logger.DebugContext(ctx, "vpcd not reachable", "err", err, "retry_in", backoff)
		} else {
			logger.InfoContext(ctx, "card plugged into vpcd")
			backoff = minBackoff
			err = serveConn(ctx, conn, c, logger)
			c.PowerOff() // the reader lost the card
			if ctx.Err() != nil {
				return nil
			}
			logger.InfoContext(ctx, "vpcd connection lost; redialling", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

func serveConn(ctx context.Context, conn net.Conn, c *Card, logger *slog.Logger) error {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	for {
		msg, err := readFrame(conn)
		if err != nil {
			return err
		}
		var reply []byte
		switch {
		case len(msg) == 1:
			switch msg[0] {
			case vpcdPowerOff:
				c.PowerOff()
			case vpcdPowerOn, vpcdReset:
				c.Reset()
			case vpcdGetATR:
				reply = c.ATR()
			default:
				logger.DebugContext(ctx, "unknown vpcd control code", "code", msg[0])
			}
			if reply == nil {
				continue
			}
		case len(msg) == 0:
			logger.DebugContext(ctx, "empty vpcd message ignored")
			continue
		default:
			reply, err = c.Transmit(msg)
			if err != nil {
				// The card still answers (6581); the operator must see why.
				logger.ErrorContext(ctx, "card memory failure", "err", err)
			}
			if logger.Enabled(ctx, slog.LevelDebug) {
				if cmd, perr := apdu.Parse(msg); perr == nil {
					r, _ := apdu.ParseResponse(reply)
					logger.DebugContext(ctx, "apdu", "cmd", cmd.String(), "sw", r.SW.String(), "len", len(r.Data))
				}
			}
		}
		if err := writeFrame(conn, reply); err != nil {
			return err
		}
	}
}

func readFrame(r io.Reader) ([]byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	msg := make([]byte, binary.BigEndian.Uint16(hdr[:]))
	if _, err := io.ReadFull(r, msg); err != nil {
		return nil, fmt.Errorf("vpcd: short message: %w", err)
	}
	return msg, nil
}

func writeFrame(w io.Writer, msg []byte) error {
	if len(msg) > 0xFFFF {
		return errors.New("vpcd: message longer than 65535 bytes")
	}
	b := make([]byte, 2, 2+len(msg))
	binary.BigEndian.PutUint16(b, uint16(len(msg)))
	_, err := w.Write(append(b, msg...))
	return err
}
