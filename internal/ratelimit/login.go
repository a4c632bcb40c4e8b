package ratelimit

import "time"

// LoginLimits are the buckets of one kind of login. A login names an
// account (a card, an office) and comes from a source (a browser's
// address, a terminal). The keys are chosen so that someone elsewhere
// cannot lock the holder out: failures are counted tightly per (account,
// source), so an attacker at one source spends only his own bucket, and
// only loosely per account, so an attacker at many sources can block the
// holder for at most one Account.Every at a time.
type LoginLimits struct {
	// Source is every try from one source; a failure costs FailureCost
	// tries (failures count more than successes). Zero: not limited.
	Source      Limit
	FailureCost int
	// Pair is the failures for one account from one source.
	Pair Limit
	// Account is the failures for one account from every source.
	Account Limit
}

// Login limits the tries of one kind of login.
type Login struct {
	source, pair, account *Limiter
	failureCost           int
}

// NewLogin makes the buckets of l.
func NewLogin(l LoginLimits, o Options) *Login {
	if l.FailureCost < 1 {
		l.FailureCost = 1
	}
	return &Login{source: New(l.Source, o), pair: New(l.Pair, o), account: New(l.Account, o), failureCost: l.FailureCost}
}

// pairKey keeps an account and a source apart whatever they contain.
func pairKey(account, source string) string { return account + "\x00" + source }

// Check is how long until a try for account from source may be made: 0 to
// go ahead now. It takes nothing; Done counts the try once its outcome is
// known. An empty account (not known before the try) checks the source
// only.
func (g *Login) Check(account, source string) time.Duration {
	if g == nil {
		return 0
	}
	d := g.source.Wait(source)
	if account != "" {
		d = max(d, g.pair.Wait(pairKey(account, source)), g.account.Wait(account))
	}
	return d
}

// CheckPair is Check without the account's bucket: for a login whose
// success is proven before it can do harm (a card's signature, verified
// at the platform), where the account's bucket refuses failures only
// (AccountWait after the outcome), so that nobody elsewhere can keep the
// holder out at all.
func (g *Login) CheckPair(account, source string) time.Duration {
	if g == nil {
		return 0
	}
	d := g.source.Wait(source)
	if account != "" {
		d = max(d, g.pair.Wait(pairKey(account, source)))
	}
	return d
}

// AccountWait is how long until the account's bucket takes a failure again.
func (g *Login) AccountWait(account string) time.Duration {
	if g == nil || account == "" {
		return 0
	}
	return g.account.Wait(account)
}

// Done counts a try: a success costs the source one try; a failure costs
// it FailureCost and takes one from the pair's and the account's failures.
func (g *Login) Done(account, source string, ok bool) {
	if g == nil {
		return
	}
	if ok {
		g.source.Charge(source, 1)
		return
	}
	g.source.Charge(source, g.failureCost)
	if account != "" {
		g.pair.Charge(pairKey(account, source), 1)
		g.account.Charge(account, 1)
	}
}

// Len is how many keys the buckets keep, all together.
func (g *Login) Len() int {
	if g == nil {
		return 0
	}
	return g.source.Len() + g.pair.Len() + g.account.Len()
}
