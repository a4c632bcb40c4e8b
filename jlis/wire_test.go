package jlis

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mynaplat/mynaplat/internal/httpapi"
)

func TestProblemRules(t *testing.T) {
	if err := Rules.Check(); err != nil {
		t.Error(err)
	}
}

// TestInternalWords: a failure no rule names still tells the kiosk that a
// certificate not printed costs nothing.
func TestInternalWords(t *testing.T) {
	rec := httptest.NewRecorder()
	Rules.Write(rec, httptest.NewRequest("POST", "/jlis/v1/jobs", nil), nil, errors.New("disk on fire"))
	var p httpapi.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if rec.Code != 500 || p.Code != httpapi.CodeInternal || !strings.Contains(p.MessageJA, "料金はかかりません") ||
		!strings.Contains(p.MessageEN, "Nothing is charged") || strings.Contains(p.MessageEN, "disk") {
		t.Errorf("%d %+v", rec.Code, p)
	}
}
