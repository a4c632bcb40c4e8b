package platform

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mynaplat/mynaplat/store"
)

func cmpIgnore(fields ...string) cmp.Option { return cmpopts.IgnoreFields(Claims{}, fields...) }

func TestQueriesKeepPlaceholderOrder(t *testing.T) {
	for _, q := range allQueries {
		if err := store.CheckPlaceholders(q); err != nil {
			t.Errorf("%v in %s", err, q)
		}
	}
}

func TestGroupQueriesKeepPlaceholderOrder(t *testing.T) {
	for _, n := range []int{1, 2, 17, maxGroup} {
		for _, q := range []string{consumeQuery(n), auditQuery(n)} {
			if err := store.CheckPlaceholders(q); err != nil {
				t.Errorf("n=%d: %v", n, err)
			}
		}
	}
}
