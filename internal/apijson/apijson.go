// Package apijson writes the JSON answers of mynaplat's HTTP APIs: one body
// shape for errors, with the message in Japanese and English, and one way to
// send JSON (never cached: API answers carry personal or security state).
package apijson

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Problem is the JSON body of every API error.
type Problem struct {
	Code      string `json:"error"`
	MessageJA string `json:"message_ja"`
	MessageEN string `json:"message_en"`
}

// Write sends v as JSON with status.
func Write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// WriteProblem sends an error answer.
func WriteProblem(w http.ResponseWriter, status int, code, ja, en string) {
	Write(w, status, Problem{Code: code, MessageJA: ja, MessageEN: en})
}

// ErrBody is a request body that is not one JSON object of the expected
// shape.
var ErrBody = errors.New("apijson: the body is not the expected JSON")

// Decode reads r as exactly one JSON object into v: at most max bytes, no
// unknown fields, nothing after it. Errors wrap ErrBody.
func Decode(r io.Reader, v any, max int64) error {
	dec := json.NewDecoder(io.LimitReader(r, max+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", ErrBody, err)
	}
	// More is false before a stray ']' or '}', so read on to the end.
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the object", ErrBody)
	}
	return nil
}
