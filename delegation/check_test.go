package delegation

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

// Document types of the tests.
const (
	docDeduction = "保険料控除証明書"
	docWithhold  = "源泉徴収票"
	docTax       = "法人税申告"
	docRegistry  = "登記申請"
)

// scenario is a corporate history with powers in every state Check tells
// apart; newScenario builds it in time order.
type scenario struct {
	*env
	rep1, rep2, repB, alice, bob, carol, dave *signer
	stranger                                  *signer // a JPKI certificate of no person
	a, b                                      Principal

	p1, p2, pB, pR, pNew                *Power // registered powers from representatives
	p1CMS, p2CMS, pBCMS, pRCMS, pNewCMS []byte
	c1, cR                              *Power // registered sub-delegations (of p1, of pR)
	c1CMS, cRCMS                        []byte
}

func newScenario(t *testing.T, db *store.DB) *scenario {
	ctx := context.Background()
	s := &scenario{env: newEnv(t, db)}
	s.corporation(numberA, "株式会社テスト商事")
	s.corporation(numberB, "テスト工業株式会社")
	s.rep1 = s.representative(numberA, "代表 一郎")
	s.repB = s.representative(numberB, "工業 花子")
	s.alice, s.bob, s.carol, s.dave = s.person("alice"), s.person("bob"), s.person("carol"), s.person("dave")
	s.stranger = &signer{key: newKey(t)}
	s.stranger.cert = issue(t, pkix.Name{CommonName: "stranger"}, s.stranger.key, s.jpki, false)
	s.a = Principal{CorporateNumber: numberA, CorporationName: "株式会社テスト商事", RepresentativeName: "代表 一郎"}
	s.b = Principal{CorporateNumber: numberB, CorporationName: "テスト工業株式会社", RepresentativeName: "工業 花子"}

	// Day 1–4: the representatives grant powers.
	s.clock.set(day(1))
	s.p1 = power(s.a, "alice", day(1), day(181), true, docDeduction, docWithhold, docTax)
	s.p1CMS = s.sign(s.p1, s.rep1, day(1))
	s.register(s.p1CMS)
	s.clock.set(day(2))
	s.p2 = power(s.a, "bob", day(2), day(365), false, docDeduction)
	s.p2CMS = s.sign(s.p2, s.rep1, day(2))
	s.register(s.p2CMS)
	s.clock.set(day(3))
	s.pB = power(s.b, "alice", day(3), day(365), false, docDeduction)
	s.pBCMS = s.sign(s.pB, s.repB, day(3))
	s.register(s.pBCMS)
	s.clock.set(day(4))
	s.pR = power(s.a, "alice", day(4), day(365), true, docDeduction)
	s.pRCMS = s.sign(s.pR, s.rep1, day(4))
	s.register(s.pRCMS)

	// Day 5: alice sub-delegates to carol within p1, and to dave within pR.
	s.clock.set(day(5))
	s.c1 = child(s.p1, "carol", day(5), day(90), docDeduction)
	s.c1CMS = s.sign(s.c1, s.alice, day(5))
	s.register(s.c1CMS)
	s.cR = child(s.pR, "dave", day(5), day(90), docDeduction)
	s.cRCMS = s.sign(s.cR, s.alice, day(5))
	s.register(s.cRCMS)

	// Day 20: the representative revokes pR.
	s.clock.set(day(20))
	if _, err := s.svc.Revoke(ctx, s.pR.ID, s.revocation(s.pR, s.rep1, day(20))); err != nil {
		t.Fatal(err)
	}

	// Day 60: a new representative of A; day 61 they grant a power.
	s.clock.set(day(60))
	s.rep2 = s.representative(numberA, "代表 二郎")
	s.clock.set(day(61))
	s.pNew = power(Principal{CorporateNumber: numberA, CorporationName: "株式会社テスト商事", RepresentativeName: "代表 二郎"},
		"bob", day(61), day(365), false, docRegistry)
	s.pNewCMS = s.sign(s.pNew, s.rep2, day(61))
	s.register(s.pNewCMS)

	// Day 100: B is closed.
	s.clock.set(day(100))
	if err := s.reg.Close(ctx, numberB); err != nil {
		t.Fatal(err)
	}
	s.clock.set(day(150))
	return s
}

// lookAlike is a self-signed certificate with the subject (and so the
// organizationIdentifier) of a real representative certificate.
func (s *scenario) lookAlike(of *x509.Certificate) *signer {
	k := newKey(s.t)
	subj := of.Subject
	subj.ExtraNames = subj.Names
	return &signer{key: k, cert: issue(s.t, subj, k, nil, false)}
}

// TestCheck asks Check once for every reason, and for the answers that
// must stay OK beside them.
func TestCheck(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newScenario(t, db)

		tampered := append([]byte(nil), s.p1CMS...)
		if i := indexOf(tampered, []byte(docTax)); i < 0 {
			t.Fatal("the power's content is not in its CMS")
		} else {
			tampered[i] ^= 1
		}
		// The representative's certificate, with a signature by another key.
		wrongKey := &signer{cert: s.rep1.cert, key: newKey(t), chain: s.rep1.chain}
		fake := s.lookAlike(s.rep1.cert)
		fakeP := power(s.a, "alice", day(1), day(181), true, docDeduction)
		// Someone claiming an unregistered corporation.
		unknownC := Principal{CorporateNumber: numberC, CorporationName: "架空株式会社", RepresentativeName: "架空 太郎"}
		ghost := &signer{key: newKey(t)}
		ghost.cert = issue(t, pkix.Name{CommonName: "架空 太郎", Organization: []string{"架空株式会社"}}, ghost.key, nil, false)
		// The old representative after the new one's appointment.
		late := power(s.a, "alice", day(61), day(365), false, docDeduction)
		// A genuine power never registered, and one reusing p1's ID.
		unregistered := power(s.a, "alice", day(1), day(181), false, docDeduction)
		sameID := *s.p1
		sameID.Powers = []string{docDeduction, docRegistry}
		// Sub-delegations refused at registration.
		c2 := child(s.p2, "carol", day(5), day(90), docDeduction)         // p2 forbids sub-delegation
		c3 := child(s.p1, "carol", day(5), day(90), docDeduction)         // signed by bob, not p1's agent
		c4 := child(s.p1, "carol", day(5), day(90), docRegistry)          // a matter p1 does not delegate
		c5 := child(s.p1, "carol", day(5), day(200), docDeduction)        // outlasts p1
		c6 := child(s.p1, "carol", day(5), day(90), docDeduction)         // signed by a stranger
		cU := child(unregistered, "carol", day(5), day(90), docDeduction) // parent not registered

		tests := []struct {
			name   string
			power  []byte
			number string
			doc    string
			signer *signer
			at     time.Time
			want   Reason
		}{
			{"valid", s.p1CMS, numberA, docDeduction, s.alice, day(10), ""},
			{"valid on the first day", s.p1CMS, numberA, docTax, s.alice, day(1), ""},
			{"valid on the last day", s.p1CMS, numberA, docWithhold, s.alice, day(181), ""},
			{"not yet valid", s.p1CMS, numberA, docDeduction, s.alice, day(1).Add(-time.Second), NotYetValid},
			{"expired", s.p1CMS, numberA, docDeduction, s.alice, day(181).Add(time.Second), Expired},
			{"out of scope", s.p1CMS, numberA, docRegistry, s.alice, day(10), OutOfScope},
			{"another corporation's document", s.p1CMS, numberB, docDeduction, s.alice, day(10), OutOfScope},
			{"signed by another person", s.p1CMS, numberA, docDeduction, s.bob, day(10), NotAgent},
			{"signed by no person of the platform", s.p1CMS, numberA, docDeduction, s.stranger, day(10), NotAgent},
			{"document without signer", s.p1CMS, numberA, docDeduction, nil, day(10), NotAgent},
			{"forged: tampered CMS", tampered, numberA, docDeduction, s.alice, day(10), Forged},
			{"forged: truncated CMS", s.p1CMS[:len(s.p1CMS)/2], numberA, docDeduction, s.alice, day(10), Forged},
			{"forged: trailing byte", append(append([]byte(nil), s.p1CMS...), 0), numberA, docDeduction, s.alice, day(10), Forged},
			{"forged: empty", nil, numberA, docDeduction, s.alice, day(10), Forged},
			{"forged: JSON, not CMS", mustCanonical(t, s.p1), numberA, docDeduction, s.alice, day(10), Forged},
			{"forged: representative's certificate, another key", s.sign(fakeP, wrongKey, day(1)), numberA, docDeduction, s.alice, day(10), Forged},
			{"forged: same ID, other content", s.sign(&sameID, s.rep1, day(1)), numberA, docDeduction, s.alice, day(10), Forged},
			{"forged: a revocation, not a power", s.revocation(s.p1, s.rep1, day(2)), numberA, docDeduction, s.alice, day(10), Forged},
			{"not representative: look-alike certificate", s.sign(fakeP, fake, day(1)), numberA, docDeduction, s.alice, day(10), NotRepresentative},
			{"not representative: look-alike with a registered power's content", s.sign(s.p1, fake, day(1)), numberA, docDeduction, s.alice, day(10), NotRepresentative},
			{"not representative: signed by the agent", s.sign(fakeP, s.alice, day(1)), numberA, docDeduction, s.alice, day(10), NotRepresentative},
			{"not representative: old representative after the new appointment", s.sign(late, s.rep1, day(61)), numberA, docDeduction, s.alice, day(70), NotRepresentative},
			{"old representative's power from before the appointment", s.p1CMS, numberA, docDeduction, s.alice, day(70), ""},
			{"new representative's power", s.pNewCMS, numberA, docRegistry, s.bob, day(70), ""},
			{"new representative under the old name", s.sign(withRep(s.pNew, "代表 一郎"), s.rep2, day(61)), numberA, docRegistry, s.bob, day(70), NotRepresentative},
			{"unknown corporation", s.sign(power(unknownC, "alice", day(1), day(181), false, docDeduction), ghost, day(1)), numberC, docDeduction, s.alice, day(10), UnknownCorporation},
			{"closed corporation: before closure", s.pBCMS, numberB, docDeduction, s.alice, day(99), ""},
			{"closed corporation: after closure", s.pBCMS, numberB, docDeduction, s.alice, day(100), CorporationClosed},
			{"unregistered power", s.sign(unregistered, s.rep1, day(1)), numberA, docDeduction, s.alice, day(10), UnknownPower},
			{"revoked after At", s.pRCMS, numberA, docDeduction, s.alice, day(19), ""},
			{"revoked at At", s.pRCMS, numberA, docDeduction, s.alice, day(20), Revoked},
			{"revoked before At", s.pRCMS, numberA, docDeduction, s.alice, day(25), Revoked},
			{"sub-delegation", s.c1CMS, numberA, docDeduction, s.carol, day(30), ""},
			{"sub-delegation: the parent's agent is not the child's", s.c1CMS, numberA, docDeduction, s.alice, day(30), NotAgent},
			{"sub-delegation: beyond its own period", s.c1CMS, numberA, docDeduction, s.carol, day(91), Expired},
			{"sub-delegation: matter of the parent only", s.c1CMS, numberA, docTax, s.carol, day(30), OutOfScope},
			{"sub-delegation of a power revoked later", s.cRCMS, numberA, docDeduction, s.dave, day(15), ""},
			{"sub-delegation of a revoked power", s.cRCMS, numberA, docDeduction, s.dave, day(25), Revoked},
			{"sub-delegation not allowed by the parent", s.sign(c2, s.bob, day(5)), numberA, docDeduction, s.carol, day(30), SubDelegationNotAllowed},
			{"sub-delegation not signed by the parent's agent", s.sign(c3, s.bob, day(5)), numberA, docDeduction, s.carol, day(30), SubDelegationNotAllowed},
			{"sub-delegation signed by no person", s.sign(c6, s.stranger, day(5)), numberA, docDeduction, s.carol, day(30), SubDelegationNotAllowed},
			{"sub-delegation beyond the parent's matters", s.sign(c4, s.alice, day(5)), numberA, docRegistry, s.carol, day(30), SubDelegationNotAllowed},
			{"sub-delegation beyond the parent's period", s.sign(c5, s.alice, day(5)), numberA, docDeduction, s.carol, day(30), SubDelegationNotAllowed},
			{"sub-delegation signed before the parent's period", s.sign(child(s.p1, "carol", day(1), day(90), docDeduction), s.alice, day(0)), numberA, docDeduction, s.carol, day(30), SubDelegationNotAllowed},
			{"sub-delegation of an unregistered parent", s.sign(cU, s.alice, day(5)), numberA, docDeduction, s.carol, day(30), UnknownPower},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				q := Query{Power: tt.power, CorporateNumber: tt.number, DocType: tt.doc, At: tt.at}
				if tt.signer != nil {
					q.Signer = tt.signer.cert
				}
				res, err := s.svc.Check(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if res.Reason != tt.want || res.OK != (tt.want == "") {
					t.Errorf("Check: ok=%v reason %q, want %q", res.OK, res.Reason, tt.want)
				}
				ja, en := tt.want.Messages()
				if res.MessageJA != ja || res.MessageEN != en || ja == "" || en == "" {
					t.Errorf("messages %q / %q", res.MessageJA, res.MessageEN)
				}
				if tt.want != Forged && res.Power == nil {
					t.Error("the result does not carry the power")
				}
			})
		}
		if _, err := s.svc.Check(ctx, Query{Power: s.p1CMS, CorporateNumber: numberA, DocType: docDeduction, Signer: s.alice.cert}); !errIs(err, ErrInvalid) {
			t.Errorf("a query without At: %v, want ErrInvalid", err)
		}
	})
}

// TestRegister: what Register refuses, and that nothing refused is kept.
func TestRegister(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newScenario(t, db)
		s.clock.set(day(150))
		fake := s.lookAlike(s.rep1.cert)
		noTime := func() []byte {
			// Signed without the test signing time: the verifier refuses it
			// as it would a CMS without a time-stamp.
			b := mustCanonical(t, power(s.a, "alice", day(150), day(180), false, docDeduction))
			return signCMSNoTime(t, b, s.rep2)
		}()
		unknownC := Principal{CorporateNumber: numberC, CorporationName: "架空株式会社", RepresentativeName: "架空 太郎"}
		ghost := s.lookAlike(s.rep1.cert)
		sameID := *s.p1
		sameP1 := *s.p1
		sameID.Powers = []string{docRegistry}
		bad := power(s.a, "alice", day(150), day(180), false, docDeduction)
		bad.NotAfter = bad.NotBefore
		badJSON := rawJSON(t, bad)
		for _, tc := range []struct {
			name string
			cms  []byte
			want error
		}{
			{"tampered", flipLast(s.p2CMS), ErrForged},
			{"garbage", []byte("not a CMS"), ErrForged},
			{"trailing byte", append(append([]byte(nil), s.p2CMS...), 0), ErrForged},
			{"trailing element", append(append([]byte(nil), s.p2CMS...), s.p1CMS...), ErrForged},
			{"no signing time", noTime, ErrForged},
			{"period ends before it starts", signCMS(t, badJSON, s.rep2, day(150)), ErrInvalid},
			{"not canonical", signCMS(t, append(mustCanonical(t, s.p2), ' '), s.rep2, day(150)), ErrInvalid},
			{"look-alike certificate", s.sign(power(s.a, "alice", day(150), day(180), false, docDeduction), fake, day(150)), ErrNotRepresentative},
			{"old representative after the new appointment", s.sign(power(s.a, "alice", day(150), day(180), false, docDeduction), s.rep1, day(150)), ErrNotRepresentative},
			{"unknown corporation", s.sign(power(unknownC, "alice", day(150), day(180), false, docDeduction), ghost, day(150)), ErrUnknownCorporation},
			{"closed corporation", s.sign(power(s.b, "alice", day(150), day(200), false, docDeduction), s.repB, day(150)), ErrClosed},
			{"same ID, other content", s.sign(&sameID, s.rep1, day(1)), ErrDuplicate},
			{"same power, forged signer", s.sign(&sameP1, s.lookAlike(s.rep1.cert), day(1)), ErrNotRepresentative},
			{"sub-delegation not allowed", s.sign(child(s.p2, "carol", day(150), day(170), docDeduction), s.bob, day(150)), ErrSubDelegation},
			{"sub-delegation by another than the agent", s.sign(child(s.p1, "carol", day(150), day(170), docDeduction), s.bob, day(150)), ErrSubDelegation},
			{"sub-delegation of a revoked power", s.sign(child(s.pR, "carol", day(150), day(170), docDeduction), s.alice, day(150)), ErrRevoked},
			{"sub-delegation of an unknown power", s.sign(child(power(s.a, "x", day(1), day(9), true, docTax), "carol", day(2), day(3), docTax), s.alice, day(2)), ErrNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.svc.Register(ctx, tc.cms)
				if !errIs(err, tc.want) {
					t.Errorf("Register: %v, want %v", err, tc.want)
				}
			})
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM delegation_powers`).Scan(&n); err != nil || n != 7 {
			t.Errorf("%d powers registered (%v), want the scenario's 7", n, err)
		}
		// Registering the same CMS again is harmless.
		rec, err := s.svc.Register(ctx, s.p1CMS)
		if err != nil {
			t.Fatal(err)
		}
		want := &Record{Power: *s.p1, CMS: s.p1CMS, SignedAt: day(1), RegisteredAt: day(1), Status: StatusActive}
		if diff := cmp.Diff(want, rec); diff != "" {
			t.Errorf("record (-want +got):\n%s", diff)
		}
		// The same power signed anew (a resent form at a desk) is already
		// registered: the first record, nothing written.
		p1 := *s.p1
		again := s.sign(&p1, s.rep1, day(1))
		if bytes.Equal(again, s.p1CMS) {
			t.Fatal("the power signed anew is the same CMS")
		}
		if rec, err = s.svc.Register(ctx, again); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, rec); diff != "" {
			t.Errorf("the power signed anew: record (-want +got):\n%s", diff)
		}
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM delegation_powers`).Scan(&n); err != nil || n != 7 {
			t.Errorf("%d powers registered (%v) after registering again, want 7", n, err)
		}
		if _, err := s.svc.Get(ctx, "no-such-power-0000"); !errIs(err, ErrNotFound) {
			t.Errorf("Get of an unknown ID: %v", err)
		}
		if _, err := s.svc.Get(ctx, "../x"); !errIs(err, ErrNotFound) {
			t.Errorf("Get of a malformed ID: %v", err)
		}
	})
}

// TestRevoke: who may revoke, and what a revocation must say.
func TestRevoke(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newScenario(t, db)
		s.clock.set(day(150))
		other := power(s.a, "alice", day(1), day(2), false, docTax)
		otherRev, _ := Revocation{PowerID: other.ID, CorporateNumber: numberA}.Canonical()
		for _, tc := range []struct {
			name string
			id   string
			cms  []byte
			want error
		}{
			{"unknown power", other.ID, s.revocation(other, s.rep2, day(150)), ErrNotFound},
			{"already revoked", s.pR.ID, s.revocation(s.pR, s.rep2, day(150)), ErrRevoked},
			{"naming another power", s.p2.ID, signCMS(t, otherRev, s.rep2, day(150)), ErrInvalid},
			{"a power, not a revocation", s.p2.ID, s.p2CMS, ErrInvalid},
			{"tampered", s.p2.ID, flipLast(s.revocation(s.p2, s.rep2, day(150))), ErrForged},
			{"by the agent", s.p2.ID, s.revocation(s.p2, s.bob, day(150)), ErrNotRepresentative},
			{"by the former representative", s.p2.ID, s.revocation(s.p2, s.rep1, day(150)), ErrNotRepresentative},
			{"by a look-alike certificate", s.p2.ID, s.revocation(s.p2, s.lookAlike(s.rep2.cert), day(150)), ErrNotRepresentative},
			{"of a sub-delegation by someone else", s.c1.ID, s.revocation(s.c1, s.bob, day(150)), ErrNotRepresentative},
			{"by the successor of the representative who granted it", s.p2.ID, s.revocation(s.p2, s.rep2, day(150)), nil},
			{"of a sub-delegation by the agent who made it", s.c1.ID, s.revocation(s.c1, s.alice, day(150)), nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				rec, err := s.svc.Revoke(ctx, tc.id, tc.cms)
				if !errIs(err, tc.want) {
					t.Fatalf("Revoke: %v, want %v", err, tc.want)
				}
				if err == nil && (rec.Status != StatusRevoked || !rec.RevokedAt.Equal(day(150))) {
					t.Errorf("record after revocation: %s at %v", rec.Status, rec.RevokedAt)
				}
			})
		}
		res, err := s.svc.Check(ctx, Query{Power: s.c1CMS, CorporateNumber: numberA, DocType: docDeduction, Signer: s.carol.cert, At: day(150)})
		if err != nil || res.Reason != Revoked {
			t.Errorf("Check of the revoked sub-delegation: %+v %v", res, err)
		}
	})
}

func indexOf(b, sub []byte) int {
	for i := 0; i+len(sub) <= len(b); i++ {
		if string(b[i:i+len(sub)]) == string(sub) {
			return i
		}
	}
	return -1
}

func flipLast(b []byte) []byte {
	c := append([]byte(nil), b...)
	c[len(c)-1] ^= 1
	return c
}

func mustCanonical(t testing.TB, p *Power) []byte {
	t.Helper()
	c := *p
	b, err := c.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func withRep(p *Power, name string) *Power {
	c := *p
	c.ID, _ = NewID()
	c.Principal.RepresentativeName = name
	return &c
}
