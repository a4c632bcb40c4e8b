package jpki

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/internal/callerkey"
	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/trace"
	"github.com/mynaplat/mynaplat/jpkiap"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
)

func TestCounterRules(t *testing.T) {
	if err := counterRules.Check(); err != nil {
		t.Error(err)
	}
}

// counterEnv is a centre serving the counter API to the caller "town-hall",
// and that caller's client.
type counterEnv struct {
	*env
	key    string
	client *CounterClient
}

func newCounterEnv(t testing.TB, db *store.DB) *counterEnv {
	t.Helper()
	e := newEnv(t, db)
	key := callerkey.New()
	mux := http.NewServeMux()
	e.c.Routes(mux)
	e.c.CounterRoutes(mux, callerkey.Keys{}.Add("town-hall", key))
	e.srv.Config.Handler = trace.Middleware(e.c.Wrap(mux))
	return &counterEnv{env: e, key: key, client: NewCounterClient(e.srv.URL, key, adult.Municipality, nil).For(clerkAt(adult.Municipality))}
}

// clerkAt and supervisorAt are the staff of the counter of town.
func clerkAt(town string) CounterStaff {
	return CounterStaff{PlatformID: "pid-clerk-" + town, Name: "窓口　一郎", Office: "counter:" + town, Role: "counter-clerk", StaffNumber: "C-" + town + "-01"}
}

func supervisorAt(town string) CounterStaff {
	return CounterStaff{PlatformID: "pid-super-" + town, Name: "責任　花子", Office: "counter:" + town, Role: CounterSupervisorRole, StaffNumber: "C-" + town + "-90"}
}

// approval is the approval of the supervisor of town, given now, of a
// request of a resident who showed their card.
func (e *counterEnv) approval(town string) Approval {
	s := supervisorAt(town)
	return Approval{Supervisor: &s, At: e.clock.now(), Identity: IdentityCard}
}

// townClient is the client of the counter of town, its clerk signed in.
func (e *counterEnv) townClient(town string) *CounterClient {
	return NewCounterClient(e.srv.URL, e.key, town, nil).For(clerkAt(town))
}

// header is the client's town and clerk, with the Idempotency-Key key
// ("" none).
func (e *counterEnv) header(key string) http.Header {
	h := e.client.Actor.header()
	if key != "" {
		h.Set("Idempotency-Key", key)
	}
	return h
}

// blankCard is a card fresh from the factory.
func (e *counterEnv) blankCard(t testing.TB) *card.Card {
	t.Helper()
	cd, err := e.cards.Create(card.Spec{AuthPIN: "1234", SignPIN: "ABC123", TextPIN: "1234", MyNumber: "123456789018",
		Name: adult.Name, Address: adult.Address, BirthDate: adult.BirthDate.Format("20060102"), Sex: "2"})
	if err != nil {
		t.Fatal(err)
	}
	return cd
}

// keys has the card make its keys.
func cardKeys(t testing.TB, cd *card.Card, kinds ...Kind) CardKeys {
	t.Helper()
	ks := CardKeys{}
	for _, k := range kinds {
		pub, err := cd.GenerateKey(purpose(k))
		if err != nil {
			t.Fatal(err)
		}
		ks[k] = pub
	}
	return ks
}

// issued is a card personalised over the API.
func (e *counterEnv) issued(t testing.TB) (*card.Card, *IssuedCard) {
	t.Helper()
	cd := e.blankCard(t)
	is, err := (&Personaliser{Centre: e.client, Now: e.clock.now}).Issue(context.Background(), adult, cd)
	if err != nil {
		t.Fatal(err)
	}
	return cd, is
}

// TestCounterAPIRefusals: every refusal of the counter API has its code,
// its Japanese and English text, and matches its sentinel through the
// client, as in one process.
func TestCounterAPIRefusals(t *testing.T) {
	ctx := context.Background()
	e := newCounterEnv(t, storetest.SQLite(t))
	cd, cdIssued := e.issued(t)
	_, other := e.issued(t)
	lost, _ := e.issued(t)
	if _, err := e.c.ReportLoss(ctx, lost.ID()); err != nil {
		t.Fatal(err)
	}
	if err := e.c.Revoke(ctx, Auth, other.Auth.Serial, KeyCompromise); err != nil {
		t.Fatal(err)
	}
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	fresh := e.blankCard(t)
	freshKeys := cardKeys(t, fresh, Auth, Sign)
	child := adult
	child.BirthDate = date(2015, 6, 1)
	bad := adult
	bad.Name = " "
	if _, err := e.client.IssueCertificates(ctx, IssueRequest{IdempotencyKey: "used-once", CardID: fresh.ID(), Resident: adult, Keys: freshKeys}); err != nil {
		t.Fatal(err)
	}
	raw := func(method, path, body string, hdr http.Header) error {
		a := e.client.API
		_, err := a.Do(ctx, httpapi.Request{Method: method, Path: path, Body: []byte(body), ContentType: "application/json", Header: hdr})
		return err
	}
	tests := []struct {
		name     string
		call     func() error
		code     httpapi.Code
		sentinel error
		status   int
	}{
		{"no caller key", func() error {
			_, err := NewCounterClient(e.srv.URL, "mpcall_wrong", adult.Municipality, nil).For(clerkAt(adult.Municipality)).CardRecord(ctx, cd.ID())
			return err
		}, callerkey.CodeUnauthorized, callerkey.ErrUnauthorized, 401},
		{"unknown card", func() error { _, err := e.client.CardRecord(ctx, "nosuchcard"); return err },
			CodeCardNotFound, ErrCardNotFound, 404},
		{"invalid resident", func() error {
			_, err := e.client.IssueCertificates(ctx, IssueRequest{CardID: "c-bad", Resident: bad, Keys: freshKeys})
			return err
		}, CodeInvalidResident, ErrInvalidResident, 422},
		{"card issued already", func() error {
			_, err := e.client.IssueCertificates(ctx, IssueRequest{CardID: cd.ID(), Resident: adult, Keys: freshKeys})
			return err
		}, CodeCardExists, ErrCardExists, 409},
		{"no signing key from 15", func() error {
			_, err := e.client.IssueCertificates(ctx, IssueRequest{CardID: "c-nosign", Resident: adult, Keys: CardKeys{Auth: freshKeys[Auth]}})
			return err
		}, CodeWrongKeys, ErrWrongKeys, 422},
		{"a signing key below 15", func() error {
			_, err := e.client.IssueCertificates(ctx, IssueRequest{CardID: "c-child", Resident: child, Keys: freshKeys})
			return err
		}, CodeWrongKeys, ErrWrongKeys, 422},
		{"a weak key", func() error {
			_, err := e.client.RenewCertificates(ctx, RenewRequest{CardID: cd.ID(), Keys: CardKeys{Auth: &weak.PublicKey, Sign: freshKeys[Sign]}})
			return err
		}, CodeWrongKeys, ErrWrongKeys, 422},
		{"renew a lost card", func() error {
			_, err := e.client.RenewCertificates(ctx, RenewRequest{CardID: lost.ID(), Keys: freshKeys})
			return err
		}, CodeNoLiveCertificate, ErrNoLiveCertificate, 422},
		{"report a lost card lost again", func() error {
			_, err := e.client.CloseCard(ctx, CloseRequest{CardID: lost.ID(), Event: Loss, Approval: e.approval(adult.Municipality)})
			return err
		}, CodeNoLiveCertificate, ErrNoLiveCertificate, 422},
		{"another card's certificate", func() error {
			_, err := e.client.RevokeCertificate(ctx, RevokeRequest{CardID: cd.ID(), Kind: Sign, Serial: other.Sign.Serial, Reason: KeyCompromise,
				Approval: e.approval(adult.Municipality)})
			return err
		}, CodeNotOnCard, ErrNotOnCard, 422},
		{"revoked already", func() error {
			_, err := e.client.RevokeCertificate(ctx, RevokeRequest{CardID: other.CardID, Kind: Auth, Serial: other.Auth.Serial, Reason: KeyCompromise,
				Approval: e.approval(adult.Municipality)})
			return err
		}, CodeAlreadyRevoked, ErrAlreadyRevoked, 409},
		{"no Idempotency-Key", func() error {
			return raw(http.MethodPost, "/jpki/counter/v1/cards/"+cd.ID()+"/closure", `{"event":"loss"}`, e.header(""))
		}, CodeIdempotencyKey, ErrIdempotencyKey, 400},
		{"an Idempotency-Key of another request", func() error {
			_, err := e.client.IssueCertificates(ctx, IssueRequest{IdempotencyKey: "used-once", CardID: "c-other", Resident: adult, Keys: freshKeys})
			return err
		}, CodeIdempotencyKeyReused, ErrIdempotencyReused, 422},
		{"not JSON", func() error {
			return raw(http.MethodPost, "/jpki/counter/v1/cards", `{"card_id":`, e.header("k1"))
		}, CodeInvalid, ErrInvalid, 400},
		{"an unknown field", func() error {
			return raw(http.MethodPost, "/jpki/counter/v1/cards/"+cd.ID()+"/closure", `{"event":"loss","pin":"1234"}`, e.header("k2"))
		}, CodeInvalid, ErrInvalid, 400},
		{"an unknown event", func() error {
			_, err := e.client.CloseCard(ctx, CloseRequest{CardID: cd.ID(), Event: "stolen"})
			return err
		}, CodeInvalid, ErrInvalid, 400},
		{"an unknown reason", func() error {
			return raw(http.MethodPost, "/jpki/counter/v1/cards/"+cd.ID()+"/revocations", `{"kind":"auth","serial":"1","reason":"boredom"}`,
				e.header("k3"))
		}, CodeInvalid, ErrInvalid, 400},
		// Issue 16: the counter's town and clerk, and the four eyes.
		{"another town's card", func() error {
			_, err := e.townClient("062049").CardRecord(ctx, cd.ID())
			return err
		}, CodeOtherTown, ErrOtherTown, 403},
		{"issue to another town's resident", func() error {
			_, err := e.townClient("062049").IssueCertificates(ctx, IssueRequest{CardID: "c-sakata", Resident: adult, Keys: freshKeys})
			return err
		}, CodeOtherTown, ErrOtherTown, 403},
		{"revoke another town's card", func() error {
			sakata := e.townClient("062049")
			_, err := sakata.RevokeCertificate(ctx, RevokeRequest{CardID: cd.ID(), Kind: Auth, Serial: "1", Reason: KeyCompromise, Approval: e.approval("062049")})
			return err
		}, CodeOtherTown, ErrOtherTown, 403},
		{"a clerk of another counter than the town's", func() error {
			cl := NewCounterClient(e.srv.URL, e.key, adult.Municipality, nil).For(clerkAt("062049"))
			_, err := cl.CardRecord(ctx, cd.ID())
			return err
		}, CodeOtherTown, ErrOtherTown, 403},
		{"no clerk", func() error {
			_, err := NewCounterClient(e.srv.URL, e.key, adult.Municipality, nil).CardRecord(ctx, cd.ID())
			return err
		}, CodeNoStaff, ErrNoStaff, 403},
		{"no town", func() error {
			_, err := NewCounterClient(e.srv.URL, e.key, "", nil).For(clerkAt(adult.Municipality)).CardRecord(ctx, cd.ID())
			return err
		}, CodeNoStaff, ErrNoStaff, 403},
		{"a revocation without approval", func() error {
			_, err := e.client.RevokeCertificate(ctx, RevokeRequest{CardID: cd.ID(), Kind: Auth, Serial: cdIssued.Auth.Serial, Reason: KeyCompromise})
			return err
		}, CodeApprovalMissing, ErrNoApproval, 403},
		{"a revocation said to be a withdrawal, without approval, of a certificate not new", func() error {
			e.clock.advance(maxWithdrawAge + time.Minute)
			defer e.clock.advance(-maxWithdrawAge - time.Minute)
			_, err := e.client.RevokeCertificate(ctx, RevokeRequest{CardID: cd.ID(), Kind: Auth, Serial: cdIssued.Auth.Serial, Reason: KeyCompromise, Withdraw: true})
			return err
		}, CodeApprovalMissing, ErrNoApproval, 403},
		{"a loss without approval", func() error {
			_, err := e.client.CloseCard(ctx, CloseRequest{CardID: cd.ID(), Event: Loss})
			return err
		}, CodeApprovalMissing, ErrNoApproval, 403},
		{"a death approved by the clerk", func() error {
			a := e.approval(adult.Municipality)
			self := clerkAt(adult.Municipality)
			self.Role = CounterSupervisorRole
			a.Supervisor = &self
			_, err := e.client.CloseCard(ctx, CloseRequest{CardID: cd.ID(), Event: Death, Approval: a})
			return err
		}, CodeSelfApproval, ErrSelfApproval, 403},
		{"approved by a clerk", func() error {
			a := e.approval(adult.Municipality)
			a.Supervisor.Role = "counter-clerk"
			_, err := e.client.CloseCard(ctx, CloseRequest{CardID: cd.ID(), Event: Death, Approval: a})
			return err
		}, CodeNotSupervisor, ErrNotSupervisor, 403},
		{"approved by another counter's supervisor", func() error {
			a := e.approval("062049")
			_, err := e.client.CloseCard(ctx, CloseRequest{CardID: cd.ID(), Event: Death, Approval: a})
			return err
		}, CodeNotSupervisor, ErrNotSupervisor, 403},
		{"an approval too old", func() error {
			a := e.approval(adult.Municipality)
			a.At = a.At.Add(-ApprovalMaxAge - time.Second)
			_, err := e.client.CloseCard(ctx, CloseRequest{CardID: cd.ID(), Event: Death, Approval: a})
			return err
		}, CodeApprovalExpired, ErrApprovalExpired, 403},
		{"an approval without how the person was identified", func() error {
			a := e.approval(adult.Municipality)
			a.Identity = ""
			_, err := e.client.CloseCard(ctx, CloseRequest{CardID: cd.ID(), Event: Death, Approval: a})
			return err
		}, CodeInvalid, ErrInvalid, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if !errors.Is(err, tc.code) || !errors.Is(err, tc.sentinel) {
				t.Fatalf("err = %v, want code %s and %v", err, tc.code, tc.sentinel)
			}
			e, ok := errors.AsType[*httpapi.Error](err)
			if !ok || e.Status != tc.status || e.MessageJA == "" || e.MessageEN == "" || e.MessageJA == e.MessageEN {
				t.Errorf("problem %+v, want status %d with Japanese and English text", e, tc.status)
			}
			// The counter shows the same words for the same error.
			if p := CounterProblem(err); p.MessageJA != e.MessageJA || p.Code != tc.code {
				t.Errorf("CounterProblem = %+v", p)
			}
		})
	}
	// Nothing was changed by the refusals: the first card still has its
	// certificates, live.
	rec, err := e.client.CardRecord(ctx, cd.ID())
	if err != nil {
		t.Fatal(err)
	}
	if rec.Live(Auth, e.clock.now()) == nil || rec.Live(Sign, e.clock.now()) == nil || rec.Resident.Name != adult.Name {
		t.Errorf("card record after the refusals: %+v", rec)
	}
}

// dropFirstAnswer passes requests on and loses the answer of the first POST
// to the issuance, as a network would after the centre committed.
type dropFirstAnswer struct {
	next    http.RoundTripper
	dropped atomic.Bool
	posts   atomic.Int32
}

func (d *dropFirstAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := d.next.RoundTrip(r)
	if r.Method == http.MethodPost {
		d.posts.Add(1)
		if err == nil && !d.dropped.Swap(true) {
			resp.Body.Close()
			return nil, errors.New("connection reset (the answer was lost)")
		}
	}
	return resp, err
}

// TestCounterIssueExactlyOnce: an issuance whose answer is lost is sent
// again with its Idempotency-Key and answered with the same certificates;
// the centre issued once. Sent again later, it is answered the same again.
func TestCounterIssueExactlyOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := trace.Start(context.Background(), trace.SpanContext{})
		e := newCounterEnv(t, db)
		tr := &dropFirstAnswer{next: http.DefaultTransport}
		cl := NewCounterClient(e.srv.URL, e.key, adult.Municipality, &http.Client{Transport: tr}).For(clerkAt(adult.Municipality))
		cd := e.blankCard(t)
		rq := IssueRequest{IdempotencyKey: NewIdempotencyKey(), CardID: cd.ID(), Resident: adult, Keys: cardKeys(t, cd, Auth, Sign)}
		first, err := cl.IssueCertificates(ctx, rq)
		if err != nil {
			t.Fatal(err)
		}
		if tr.posts.Load() != 2 {
			t.Errorf("%d POSTs, want 2 (the lost answer asked for again)", tr.posts.Load())
		}
		again, err := e.client.IssueCertificates(ctx, rq)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(first, again); diff != "" {
			t.Errorf("the request sent again got another answer (-first +again):\n%s", diff)
		}
		// Sent twice at once, a request is answered twice the same and
		// issued once.
		cd2 := e.blankCard(t)
		rq2 := IssueRequest{IdempotencyKey: NewIdempotencyKey(), CardID: cd2.ID(), Resident: adult, Keys: cardKeys(t, cd2, Auth, Sign)}
		answers := make([]*Certified, 2)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i := range answers {
			wg.Go(func() { answers[i], errs[i] = e.client.IssueCertificates(ctx, rq2) })
		}
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("concurrent requests: %v, %v", errs[0], errs[1])
		}
		if diff := cmp.Diff(answers[0], answers[1]); diff != "" {
			t.Errorf("concurrent requests answered differently (-first +second):\n%s", diff)
		}
		if certs, err := e.c.CardCertificates(ctx, cd2.ID()); err != nil || len(certs) != 2 {
			t.Errorf("%d certificates issued for two concurrent requests (%v), want 2", len(certs), err)
		}
		certs, err := e.c.CardCertificates(ctx, cd.ID())
		if err != nil {
			t.Fatal(err)
		}
		if len(certs) != 2 || len(first.Certificates) != 2 {
			t.Fatalf("%d certificates recorded, %d answered; want 2 and 2", len(certs), len(first.Certificates))
		}
		for _, is := range first.Certificates {
			ci, err := e.c.Certificate(ctx, is.Kind, is.Serial)
			if err != nil || !bytes.Equal(ci.DER, is.DER) || ci.CardID != cd.ID() {
				t.Errorf("%s %s answered is not the one recorded: %v", is.Kind, is.Serial, err)
			}
			if !bytes.Equal(is.CA, e.c.CACertificate(is.Kind)) {
				t.Errorf("%s: the CA certificate to write is not the CA's", is.Kind)
			}
		}
		// Every call is audited under the caller and the trace: the lost
		// one, its repetition and the later one.
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM jpki_counter_calls WHERE caller = 'town-hall' AND action = 'issue-card' AND card_id = $1 AND result = 'OK' AND trace_id = $2`,
			cd.ID(), trace.ID(ctx)).Scan(&n); err != nil || n != 3 {
			t.Errorf("%d audited calls (%v), want 3", n, err)
		}
		var actor string
		if err := db.QueryRowContext(ctx, `SELECT actor FROM jpki_audit WHERE action = 'issue-card' AND subject = $1`, cd.ID()).Scan(&actor); err != nil ||
			actor != "counter:202070:town-hall" {
			t.Errorf("issuance audited as %q (%v)", actor, err)
		}
	})
}

// failingWriter is a card that cannot take certificates.
type failingWriter struct{ *card.Card }

func (failingWriter) WriteCertificate(jpkiap.Purpose, []byte, []byte) error {
	return errors.New("the card was pulled from the reader")
}

// TestPersonaliserRevokesWhatTheCardDidNotTake: when the card cannot take
// its certificates, the counter revokes them over the API.
func TestPersonaliserRevokesWhatTheCardDidNotTake(t *testing.T) {
	ctx := context.Background()
	e := newCounterEnv(t, storetest.SQLite(t))
	cd := e.blankCard(t)
	if _, err := (&Personaliser{Centre: e.client, Now: e.clock.now}).Issue(ctx, adult, failingWriter{cd}); err == nil {
		t.Fatal("an issuance the card did not take succeeded")
	}
	rec, err := e.client.CardRecord(ctx, cd.ID())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ci := range rec.Certificates {
		got = append(got, string(ci.Kind)+":"+string(ci.Status)+":"+ci.Reason.String())
	}
	want := []string{"auth:revoked:cessationOfOperation", "sign:revoked:cessationOfOperation"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("certificates after the failed write (-want +got):\n%s", diff)
	}
}

// TestCounterLifecycleOverHTTP renews, changes the address of and revokes
// a card through the client, and checks that the card holds what the
// centre answered.
func TestCounterLifecycleOverHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newCounterEnv(t, db)
		steps := &Personaliser{Centre: e.client, Now: e.clock.now}
		cd, first := e.issued(t)
		renewed, err := steps.Renew(ctx, cd)
		if err != nil {
			t.Fatal(err)
		}
		if renewed.Auth.Serial == first.Auth.Serial || renewed.Auth.DER == nil {
			t.Fatalf("renewal: %+v", renewed.Auth)
		}
		checkCardSigns(t, cd, renewed.Auth.DER)
		moved, err := steps.ChangeHolder(ctx, cd, "", "山形県酒田市本町二丁目２番４５号", "062049")
		if err != nil {
			t.Fatal(err)
		}
		if moved.Auth.Serial != renewed.Auth.Serial || moved.Sign.Serial == renewed.Sign.Serial {
			t.Errorf("change of address: auth %s → %s, sign %s → %s", renewed.Auth.Serial, moved.Auth.Serial, renewed.Sign.Serial, moved.Sign.Serial)
		}
		if attrs := readAttributes(t, cd); attrs.Address != "山形県酒田市本町二丁目２番４５号" {
			t.Errorf("card surface address = %q", attrs.Address)
		}
		cl := card.NewClient(cd)
		if err := cl.VerifyPIN(card.SignPIN, "ABC123"); err != nil {
			t.Fatal(err)
		}
		onCard, err := cl.Certificate(card.Sign)
		if err != nil || !bytes.Equal(onCard, moved.Sign.DER) {
			t.Errorf("the card's signing certificate is not the new one (%v)", err)
		}
		// The holder lives in 酒田市 now: its counter serves the card.
		sakata := e.townClient("062049")
		ci, err := sakata.RevokeCertificate(ctx, RevokeRequest{CardID: cd.ID(), Kind: Sign, Serial: strings.ToLower(moved.Sign.Serial), Reason: KeyCompromise,
			Approval: e.approval("062049")})
		if err != nil || ci.Status != StatusRevoked || ci.Reason != KeyCompromise {
			t.Fatalf("revoke: %+v %v", ci, err)
		}
		closed, err := sakata.CloseCard(ctx, CloseRequest{CardID: cd.ID(), Event: Death, Approval: e.approval("062049")})
		if err != nil || len(closed) != 1 || closed[0].Kind != Auth {
			t.Fatalf("death: %+v %v", closed, err)
		}
		rec, err := sakata.CardRecord(ctx, cd.ID())
		if err != nil {
			t.Fatal(err)
		}
		if rec.Live(Auth, e.clock.now()) != nil || rec.Live(Sign, e.clock.now()) != nil || rec.Resident.Municipality != "062049" {
			t.Errorf("record after death: %+v", rec)
		}
	})
}

// FuzzCounterRequest: any body decodes without a panic into each request
// of the counter API, and a request that decodes encodes to a body that
// decodes to the same request.
func FuzzCounterRequest(f *testing.F) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	b, _ := json.Marshal(IssueRequest{CardID: "c1", Resident: adult, Keys: CardKeys{Auth: &key.PublicKey}})
	f.Add(b)
	cb, _ := json.Marshal(changeBody{ChangeRequest: ChangeRequest{Address: "x"}, SignKey: der})
	f.Add(cb)
	f.Add([]byte(`{"kind":"sign","serial":"0A","reason":"keyCompromise"}`))
	f.Add([]byte(`{"event":"loss"}`))
	f.Add([]byte(`{"resident":{"birth_date":"1980-02-30"}}`))
	f.Add([]byte(`{"keys":{"auth":"AAAA","x":null}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, mk := range []func() any{
			func() any { return &IssueRequest{} }, func() any { return &RenewRequest{} }, func() any { return &changeBody{} },
			func() any { return &RevokeRequest{} }, func() any { return &CloseRequest{} },
		} {
			v := mk()
			if httpapi.Decode(bytes.NewReader(body), v, maxCounterBody) != nil {
				continue
			}
			again, err := json.Marshal(v)
			if err != nil {
				// Only a value the decoder let through that cannot be
				// said again: none should exist.
				t.Fatalf("%T decoded from %q does not encode: %v", v, body, err)
			}
			w := mk()
			if err := httpapi.Decode(bytes.NewReader(again), w, maxCounterBody); err != nil {
				t.Fatalf("%T: %q encodes to %q, which does not decode: %v", v, body, again, err)
			}
			if third, _ := json.Marshal(w); !bytes.Equal(third, again) {
				t.Fatalf("%T: %q → %q → %q", v, body, again, third)
			}
		}
	})
}
