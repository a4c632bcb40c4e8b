package jlis

import "testing"

func TestProblemRules(t *testing.T) {
	if err := Rules.Check(); err != nil {
		t.Error(err)
	}
}
