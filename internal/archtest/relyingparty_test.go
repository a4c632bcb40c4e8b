package archtest

import (
	"slices"
	"testing"
)

// outsideRPs are the demo relying parties of the OpenID provider (issue 17
// §2): outside services that reach the provider only over HTTP, the way a
// client of the real デジタル認証アプリ does. They may use what any outside
// web site of the project has — its look (web) and a database (store), and
// what those bring — and nothing of the provider, the platform, the JPKI
// or the card.
var outsideRPs = []string{"townweb", "nissayweb"}

// rpAllowed are the module's packages an outside RP may reach, directly or
// not.
var rpAllowed = []string{"web", "store", "wareki", "internal/trace", "internal/httpapi", "internal/ratelimit",
	// The client side of OpenID Connect the RPs share: x/oauth2 and go-oidc
	// over HTTP only.
	"internal/oidcrp"}

// TestOutsideRPsImportNoProvider fails when an outside RP reaches a
// package of the module other than rpAllowed, naming it.
func TestOutsideRPsImportNoProvider(t *testing.T) {
	t.Parallel()
	g := graph(t)
	for _, rp := range outsideRPs {
		t.Run(rp, func(t *testing.T) {
			if _, ok := g[rp]; !ok {
				t.Fatalf("no package %s/%s: the list of outside RPs is out of date", module, rp)
			}
			seen := map[string]bool{rp: true}
			queue := []string{rp}
			for len(queue) > 0 {
				p := queue[0]
				queue = queue[1:]
				for _, imp := range g[p] {
					if seen[imp] {
						continue
					}
					seen[imp] = true
					if !slices.Contains(rpAllowed, imp) {
						t.Errorf("%s reaches %s (through %s): an outside RP talks to the provider over HTTP only", rp, imp, p)
						continue
					}
					queue = append(queue, imp)
				}
			}
		})
	}
}
