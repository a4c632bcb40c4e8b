package browsertest

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Text is the text of the first element matching the CSS selector sel,
// once it is visible. A page that reloads itself (a progress page that
// polls) can swap the node between chromedp's query and its read, which
// chromedp reports as "No node with given id found"; Text then asks again,
// a few times, for the new page's node.
func Text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	var err error
	for range 5 {
		var v string
		if v, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel))); err == nil {
			return v
		}
		if ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("text of %s: %v", sel, err)
	return ""
}
