package card

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"testing"
	"time"
)

// fakeVPCD plays pcscd's vpcd driver: it accepts the card and sends frames.
type fakeVPCD struct {
	t    *testing.T
	conn net.Conn
}

func (v fakeVPCD) send(msg []byte) {
	v.t.Helper()
	v.conn.SetDeadline(time.Now().Add(5 * time.Second))
	if err := writeFrame(v.conn, msg); err != nil {
		v.t.Fatal(err)
	}
}

func (v fakeVPCD) exchange(msg []byte) []byte {
	v.t.Helper()
	v.send(msg)
	got, err := readFrame(v.conn)
	if err != nil {
		v.t.Fatal(err)
	}
	return got
}

func TestServeVPCD(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c := newMemCard(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- ServeVPCD(ctx, ln.Addr().String(), c, slog.New(slog.DiscardHandler)) }()

	accept := func() fakeVPCD {
		t.Helper()
		ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
		conn, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		return fakeVPCD{t, conn}
	}
	v := accept()
	tests := []struct {
		name string
		send []byte
		want []byte // nil: no reply expected
	}{
		{"power on", []byte{0x01}, nil},
		{"get ATR", []byte{0x04}, ATR()},
		{"select JPKI", h(selJPKI), []byte{0x90, 0x00}},
		{"select PIN", h(selEF("00 18")), []byte{0x90, 0x00}},
		{"verify", h(verAuth), []byte{0x90, 0x00}},
		{"presence poll is not a reset", []byte{0x04}, ATR()},
		{"select key", h(selEF("00 17")), []byte{0x90, 0x00}},
		{"still verified", h("80 2A 00 80 01 30 00"), nil},
		{"reset", []byte{0x02}, nil},
		{"ATR after reset", []byte{0x04}, ATR()},
		{"verified state gone", h(signAPDU), []byte{0x69, 0x82}},
		{"power off", []byte{0x00}, nil},
		{"unknown control code ignored", []byte{0x07}, nil},
		{"malformed APDU", []byte{0x00, 0xA4}, []byte{0x67, 0x00}},
	}
	for _, tt := range tests {
		switch {
		case tt.name == "still verified":
			got := v.exchange(tt.send)
			if len(got) != 258 || !bytes.Equal(got[256:], []byte{0x90, 0x00}) {
				t.Fatalf("%s: %d-byte reply ending % X", tt.name, len(got), got[max(0, len(got)-2):])
			}
		case tt.want == nil:
			v.send(tt.send)
		default:
			if got := v.exchange(tt.send); !bytes.Equal(got, tt.want) {
				t.Fatalf("%s: reply % X, want % X", tt.name, got, tt.want)
			}
		}
	}

	// pcscd restarts: the card must dial again.
	v.conn.Close()
	v = accept()
	if got := v.exchange([]byte{0x04}); !bytes.Equal(got, ATR()) {
		t.Errorf("ATR after redial: % X", got)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ServeVPCD returned %v after cancel, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeVPCD did not stop after cancel")
	}
}

// TestServeVPCDNoListener checks that ServeVPCD keeps retrying, and stops on
// cancel, when nothing listens.
func TestServeVPCDNoListener(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 400*time.Millisecond)
	defer cancel()
	if err := ServeVPCD(ctx, addr, newMemCard(t), nil); err != nil {
		t.Errorf("ServeVPCD = %v, want nil", err)
	}
}
