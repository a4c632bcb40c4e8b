package apdu

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      []byte
		want    Command
		wantErr bool
	}{
		{"case 1", []byte{0x00, 0x20, 0x00, 0x80}, Command{CLA: 0, INS: 0x20, P1: 0, P2: 0x80}, false},
		{"case 2", []byte{0x00, 0xB0, 0x01, 0x00, 0x07}, Command{INS: 0xB0, P1: 1, Le: 7}, false},
		{"case 2 Le 00 is 256", []byte{0x00, 0xB0, 0x00, 0x00, 0x00}, Command{INS: 0xB0, Le: 256}, false},
		{"case 3", []byte{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x0A}, Command{INS: 0xA4, P1: 2, P2: 0x0C, Data: []byte{0, 0x0A}}, false},
		{"case 4", []byte{0x80, 0x2A, 0x00, 0x80, 0x02, 0xAA, 0xBB, 0x00}, Command{CLA: 0x80, INS: 0x2A, P2: 0x80, Data: []byte{0xAA, 0xBB}, Le: 256}, false},
		{"empty", nil, Command{}, true},
		{"too short", []byte{0x00, 0xA4, 0x04}, Command{}, true},
		{"Lc larger than body", []byte{0x00, 0xA4, 0x02, 0x0C, 0x03, 0x00, 0x0A}, Command{}, true},
		{"Lc smaller than body", []byte{0x00, 0xA4, 0x02, 0x0C, 0x01, 0x00, 0x0A, 0x00}, Command{}, true},
		{"Lc 00 extended", []byte{0x00, 0xB0, 0x00, 0x00, 0x00, 0x01, 0x00}, Command{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("Parse(% X) error = %v, want ErrMalformed", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(% X): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Parse(% X) mismatch (-want +got):\n%s", tt.in, diff)
			}
			if enc := got.Bytes(); !bytes.Equal(enc, tt.in) {
				t.Errorf("Bytes() = % X, want % X", enc, tt.in)
			}
		})
	}
}

func TestEncodeRejects(t *testing.T) {
	t.Parallel()
	for _, c := range []Command{{Data: make([]byte, 256)}, {Le: 257}, {Le: -1}} {
		if _, err := c.Encode(); err == nil {
			t.Errorf("Encode(%v) succeeded, want error", c)
		}
	}
}

func TestCase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		c    Command
		want int
	}{
		{Command{}, 1}, {Command{Le: 1}, 2}, {Command{Data: []byte{1}}, 3}, {Command{Data: []byte{1}, Le: 256}, 4},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.want), func(t *testing.T) {
			if got := tt.c.Case(); got != tt.want {
				t.Errorf("Case() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestResponse(t *testing.T) {
	t.Parallel()
	r, err := ParseResponse([]byte{0x01, 0x02, 0x63, 0xC2})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Response{Data: []byte{1, 2}, SW: 0x63C2}, r); diff != "" {
		t.Errorf("ParseResponse mismatch (-want +got):\n%s", diff)
	}
	if n, ok := r.SW.RetriesLeft(); !ok || n != 2 {
		t.Errorf("RetriesLeft() = %d, %v; want 2, true", n, ok)
	}
	if got := r.Bytes(); !bytes.Equal(got, []byte{1, 2, 0x63, 0xC2}) {
		t.Errorf("Bytes() = % X", got)
	}
	if _, err := ParseResponse([]byte{0x90}); !errors.Is(err, ErrMalformed) {
		t.Errorf("ParseResponse(1 byte) error = %v, want ErrMalformed", err)
	}
	var se *StatusError
	if err := fmt.Errorf("wrapped: %w", r.Err()); !errors.As(err, &se) || se.SW != 0x63C2 {
		t.Errorf("errors.As(%v) = %v", err, se)
	}
	if err := (Response{SW: OK}).Err(); err != nil {
		t.Errorf("Err() for 9000 = %v", err)
	}
}

func TestStatusWordString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		sw   StatusWord
		want string
	}{
		{OK, "9000 (success)"},
		{Retries(3), "63C3 (verification failed, 3 tries left)"},
		{Retries(99), "63CF (verification failed, 15 tries left)"},
		{RefDataNotUsable, "6984 (reference data not usable (blocked))"},
		{0x6A87, "6A87"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.sw.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range [][]byte{
		{0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01},
		{0x00, 0xB0, 0x00, 0x00, 0x00},
		{0x00, 0x20, 0x00, 0x80},
		{0x80, 0x2A, 0x00, 0x80, 0x01, 0x30, 0x00},
		{0x00},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err != nil {
			return
		}
		enc, err := c.Encode()
		if err != nil {
			t.Fatalf("Encode of parsed %v: %v", c, err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("round trip: % X -> % X", b, enc)
		}
		c2, err := Parse(enc)
		if err != nil {
			t.Fatalf("re-Parse(% X): %v", enc, err)
		}
		if diff := cmp.Diff(c, c2, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("re-Parse mismatch (-first +second):\n%s", diff)
		}
	})
}
