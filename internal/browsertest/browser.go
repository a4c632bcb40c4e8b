// Package browsertest starts Debian's chromium for the browser tests (chromedp)
// and saves screenshots. It is apart from testutil so that only browser tests
// link chromedp.
package browsertest

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/internal/testutil"
)

// chromiumPath is Debian's chromium (package chromium); tests use it rather
// than whatever chromedp would find, so that screenshots are reproducible.
const chromiumPath = "/usr/bin/chromium"

// browserTimeout bounds one test's browser session, so a hung page fails the
// test instead of the whole run.
const browserTimeout = 2 * time.Minute

// New starts a headless Debian chromium for the test and returns a
// chromedp context driving one tab of it, with a 1024×600 window (the kiosk
// screen). Chromium runs without the sandbox (tests run as root in CI) and
// with the flags that keep it from calling Google's services, which are not
// reachable here. The browser and its temporary profile go away when the test
// ends. A missing chromium is a skip, or a failure under CI=true.
func New(t *testing.T) context.Context {
	t.Helper()
	return NewWithin(t, browserTimeout)
}

// NewWithin is New for a session that may take up to timeout: a test that
// walks every page of the site at two window sizes takes longer than one
// story does.
func NewWithin(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		testutil.Missing(t, chromiumPath+" (Debian packages chromium fonts-noto-cjk)")
	}
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1024, 600),
	)
	ctx, cancelTimeout := context.WithTimeout(context.Background(), timeout)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	// Cleanups run in reverse order of registration, and the user data dir
	// (a t.TempDir above) is removed after them: chromium has exited by then.
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancelTimeout()
	})
	// Start the browser now, so that a failure to start shows here.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	return bctx
}

// Screenshot saves a full-page PNG of the browser's current page as
// NAME.png in the test's artifact directory (t.ArtifactDir: kept under
// -outputdir when go test runs with -artifacts, else removed after the test)
// and logs its path.
func Screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(t.ArtifactDir(), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	t.Logf("screenshot: %s", path)
}
