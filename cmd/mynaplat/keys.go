package main

import (
	"net/http"

	"github.com/mynaplat/mynaplat/internal/callerkey"
	"github.com/mynaplat/mynaplat/platform"
)

// localKeys are the caller keys of the operator APIs when the roles run in
// one process: made at start, each caller its own, so the audit rows name
// the calling role as they would across processes.
type localKeys struct {
	platform            callerkey.Keys
	platformKey         map[string]string // caller role → its key
	seal, queue, cardco callerkey.Keys
	sealKey, queueKey   string
	cardcoKey           string
}

func newLocalKeys() *localKeys {
	k := &localKeys{platformKey: map[string]string{}}
	for _, caller := range []string{roleEligibility, roleJLIS, rolePostbox, roleDelegation} {
		key := callerkey.New()
		k.platformKey[caller] = key
		k.platform = k.platform.Add(caller, key)
	}
	k.sealKey, k.queueKey, k.cardcoKey = callerkey.New(), callerkey.New(), callerkey.New()
	k.seal = k.seal.Add(roleMunicipal, k.sealKey)
	k.queue = k.queue.Add(roleMunicipal, k.queueKey)
	k.cardco = k.cardco.Add(roleTerminals, k.cardcoKey)
	return k
}

// platformClient is caller's client of the platform's caller API.
func (k *localKeys) platformClient(caller, url string, hc *http.Client) *platform.CallerClient {
	return platform.NewCallerClient(url, k.platformKey[caller], hc)
}
