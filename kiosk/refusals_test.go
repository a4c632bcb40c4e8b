package kiosk

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mynaplat/mynaplat/internal/httpapi"
	"github.com/mynaplat/mynaplat/internal/webtest"
	"github.com/mynaplat/mynaplat/jlis"
	"github.com/mynaplat/mynaplat/municipal"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/wareki"
)

// answer is what a kiosk is told: the status, the code and the texts.
type answer struct {
	Status    int
	Code      httpapi.Code
	MessageJA string
	MessageEN string
}

func answerOf(p httpapi.Problem) *answer {
	return &answer{Status: p.Status, Code: p.Code, MessageJA: p.MessageJA, MessageEN: p.MessageEN}
}

// refusalOf is the relay's answer for a municipality's refusal.
func refusalOf(t testing.TB, err error) *answer {
	t.Helper()
	ri, ok := municipal.Refusal(err)
	if !ok {
		t.Fatalf("%v is no refusal", err)
	}
	return answerOf(ri)
}

// relayAnswer is the relay's own answer for one of its errors.
func relayAnswer(err error) *answer { return answerOf(jlis.Rules.Problem(err)) }

// rawPost posts body to the relay with a kiosk key and reads the answer.
func (w *world) rawPost(t testing.TB, path, kioskKey, body string) *answer {
	t.Helper()
	r := webtest.New(t, w.srv.URL).Bearer(kioskKey).PostJSON(path, body)
	var p httpapi.Problem
	decodeJSON(t, []byte(r.Body), &p)
	if p.Status != r.Status || r.Header.Get("Content-Type") != httpapi.ContentType {
		t.Errorf("%s: status %d, %s with a problem of status %d", path, r.Status, r.Header.Get("Content-Type"), p.Status)
	}
	return answerOf(p)
}

// TestRefusalsThroughTheRelay: every refusal rule of the issuance servers
// and of the relay reaches the kiosk with its code, HTTP status and
// Japanese and English messages; a refused order leaves a cancelled job
// with the code as its reason (nothing to print or pay).
func TestRefusalsThroughTheRelay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		k := w.kiosk(t, "kiosk-refusals")
		tuesday := worldNow
		for i, tc := range []struct {
			name   string
			person string
			at     time.Time
			order  jlis.Order
			want   *answer
			// job: the refusal is the municipality's, after the job was
			// recorded.
			job bool
		}{
			{"支援措置", "月山　静", tuesday, jlis.Order{Municipality: "062049", Type: municipal.Juminhyo},
				refusalOf(t, municipal.ErrSupportMeasure), true},
			{"転出", "最上　川男", tuesday, jlis.Order{Municipality: "062049", Type: municipal.JuminhyoKisai},
				refusalOf(t, municipal.ErrMovedOut), true},
			{"死亡", "羽黒　ハナ", tuesday, jlis.Order{Municipality: "062049", Type: municipal.Juminhyo},
				refusalOf(t, municipal.ErrDeceased), true},
			{"too long for the form", "アレクサンドラ＝エカテリーナ・マリア・ヴィクトリア・フォン・ホーエンツォレルン＝ジグマリンゲン　サカタ", tuesday,
				jlis.Order{Municipality: "062049", Type: municipal.Juminhyo}, refusalOf(t, municipal.ErrTooLong), true},
			{"外字 being registered", "髙橋　吉", tuesday, jlis.Order{Municipality: "062049", Type: municipal.Juminhyo},
				refusalOf(t, municipal.ErrGaijiPending), true},
			{"not offered (美波町 has no 附票)", "日和佐　正", tuesday, jlis.Order{Municipality: "363880", Type: municipal.Fuhyo},
				refusalOf(t, municipal.ErrNotOffered), true},
			{"no seal registered (a child)", "須坂　陽菜", tuesday, jlis.Order{Municipality: "202070", Type: municipal.Inkan},
				refusalOf(t, municipal.ErrNoRecord), true},
			{"after 23:00", "本間　光", time.Date(2026, 11, 24, 23, 30, 0, 0, wareki.JST()),
				jlis.Order{Municipality: "062049", Type: municipal.Juminhyo}, refusalOf(t, municipal.ErrOutsideHours), true},
			{"戸籍 on a Saturday in 酒田市", "本間　光", time.Date(2026, 11, 28, 10, 0, 0, 0, wareki.JST()),
				jlis.Order{Municipality: "062049", Type: municipal.KosekiZenbu}, refusalOf(t, municipal.ErrOutsideHours), true},
			{"year-end closure", "本間　光", time.Date(2026, 12, 30, 10, 0, 0, 0, wareki.JST()),
				jlis.Order{Municipality: "062049", Type: municipal.Juminhyo}, refusalOf(t, municipal.ErrOutsideHours), true},
			{"戸籍 where the 本籍 is not", "酒田　一郎", tuesday, jlis.Order{Municipality: "062049", Type: municipal.KosekiZenbu},
				refusalOf(t, municipal.ErrHonsekiElsewhere), true},
			{"戸籍 of the 本籍地 without a registration", "酒田　一郎", tuesday, jlis.Order{Municipality: "062014", Type: municipal.KosekiKojin},
				relayAnswer(jlis.ErrNotRegistered), false},
			{"住民票 from the 本籍地", "酒田　一郎", tuesday, jlis.Order{Municipality: "062014", Type: municipal.Juminhyo},
				relayAnswer(jlis.ErrNotRegistered), false},
			{"住民票 of another municipality", "本間　光", tuesday, jlis.Order{Municipality: "202070", Type: municipal.Juminhyo},
				relayAnswer(jlis.ErrNotRegistered), false},
			{"unknown certificate type", "本間　光", tuesday, jlis.Order{Municipality: "062049", Type: "passport"},
				relayAnswer(jlis.ErrInvalid), false},
			{"too many copies", "本間　光", tuesday, jlis.Order{Municipality: "062049", Type: municipal.Juminhyo, Copies: 11},
				relayAnswer(jlis.ErrInvalid), false},
			{"short request key", "本間　光", tuesday, jlis.Order{RequestKey: "short", Municipality: "062049", Type: municipal.Juminhyo},
				relayAnswer(jlis.ErrInvalid), false},
		} {
			w.set(tuesday)
			cd := w.card(t, tc.person) // issued today, valid at every tc.at
			t.Run(tc.name, func(t *testing.T) {
				w.set(tc.at)
				a := k.login(t, cd)
				if tc.order.RequestKey == "" {
					tc.order.RequestKey = key("refused-" + string(rune('a'+i)))
				}
				_, err := k.client.Order(ctx, a, tc.order)
				if diff := cmp.Diff(tc.want, answerOf(apiError(t, err).Problem)); diff != "" {
					t.Errorf("answer (-want +got):\n%s", diff)
				}
				j, err := w.svc.JobByKey(ctx, k.id, tc.order.RequestKey)
				switch {
				case !tc.job && err == nil:
					t.Errorf("a job was recorded: %+v", j)
				case tc.job && err != nil:
					t.Errorf("job: %v", err)
				case tc.job && (j.State != jlis.Cancelled || j.Reason != string(tc.want.Code)):
					t.Errorf("job %s (%s), want cancelled (%s)", j.State, j.Reason, tc.want.Code)
				}
			})
		}
		w.set(tuesday)
		// The relay's own refusals: kiosk key, card, body.
		honma := w.card(t, "本間　光")
		other := w.kiosk(t, "kiosk-refusals-other")
		orderBody := func(assertion string) string {
			return `{"assertion":"` + assertion + `","request_key":"` + key("raw") + `","municipality":"062049","type":"juminhyo"}`
		}
		unauthorized, cardAuth, invalid := relayAnswer(jlis.ErrUnauthorized), relayAnswer(jlis.ErrBadAssertion), relayAnswer(jlis.ErrMalformedBody)
		for _, tc := range []struct {
			name       string
			path, body string
			key        string
			want       *answer
		}{
			{"no kiosk key", "/jlis/v1/jobs", orderBody(k.login(t, honma)), "", unauthorized},
			{"unknown kiosk key", "/jlis/v1/jobs", orderBody(k.login(t, honma)), "kiosk_forged", unauthorized},
			{"unknown kiosk key, menu", "/jlis/v1/menu", `{"assertion":"x"}`, "kiosk_forged", unauthorized},
			{"unknown kiosk key, print", "/jlis/v1/jobs/x/print", `{"assertion":"x"}`, "kiosk_forged", unauthorized},
			{"unknown kiosk key, cancel", "/jlis/v1/jobs/x/cancel", `{}`, "kiosk_forged", unauthorized},
			{"assertion made at another kiosk", "/jlis/v1/jobs", orderBody(other.login(t, honma)), k.client.Key, cardAuth},
			{"assertion made at another kiosk, menu", "/jlis/v1/menu", `{"assertion":"` + other.login(t, honma) + `"}`, k.client.Key, cardAuth},
			{"forged assertion", "/jlis/v1/jobs", orderBody("eyJhbGciOiJFUzI1NiJ9.e30.c2ln"), k.client.Key, cardAuth},
			{"no assertion", "/jlis/v1/jobs", orderBody(""), k.client.Key, cardAuth},
			{"malformed JSON", "/jlis/v1/jobs", `{"assertion":`, k.client.Key, invalid},
			{"not an object", "/jlis/v1/jobs", `["juminhyo"]`, k.client.Key, invalid},
			{"unknown field", "/jlis/v1/jobs", `{"assertion":"x","person_id":"p-1"}`, k.client.Key, invalid},
			{"two objects", "/jlis/v1/jobs", `{"assertion":"x"} {"assertion":"y"}`, k.client.Key, invalid},
			{"wrong type of value", "/jlis/v1/jobs", `{"assertion":"x","copies":"2"}`, k.client.Key, invalid},
			{"too large", "/jlis/v1/jobs", `{"assertion":"` + strings.Repeat("x", jlis.MaxBody) + `"}`, k.client.Key, invalid},
			{"empty body", "/jlis/v1/jobs", ``, k.client.Key, invalid},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if diff := cmp.Diff(tc.want, w.rawPost(t, tc.path, tc.key, tc.body)); diff != "" {
					t.Errorf("answer (-want +got):\n%s", diff)
				}
			})
		}
		t.Run("expired assertion", func(t *testing.T) {
			a := k.login(t, honma)
			w.set(tuesday.Add(time.Hour))
			defer w.set(tuesday)
			_, err := k.client.Order(ctx, a, jlis.Order{RequestKey: key("expired"), Municipality: "062049", Type: municipal.Juminhyo})
			if diff := cmp.Diff(cardAuth, answerOf(apiError(t, err).Problem)); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
		// A job is its kiosk's and its holder's: another kiosk, or the next
		// person at the same kiosk, cannot print or cancel it.
		t.Run("someone else's job", func(t *testing.T) {
			a := k.login(t, honma)
			j, err := k.client.Order(ctx, a, jlis.Order{RequestKey: key("mine"), Municipality: "062049", Type: municipal.Juminhyo})
			if err != nil {
				t.Fatal(err)
			}
			notYours := relayAnswer(jlis.ErrNotYours)
			if _, err := other.client.Print(ctx, other.login(t, honma), j.ID); !cmp.Equal(notYours, answerOf(apiError(t, err).Problem)) {
				t.Errorf("print at another kiosk: %v", err)
			}
			if _, err := k.client.Print(ctx, k.login(t, w.card(t, "鳥海　誠")), j.ID); !cmp.Equal(notYours, answerOf(apiError(t, err).Problem)) {
				t.Errorf("print by the next person: %v", err)
			}
			if err := other.client.Cancel(ctx, j.ID, "not mine"); !cmp.Equal(notYours, answerOf(apiError(t, err).Problem)) {
				t.Errorf("cancel at another kiosk: %v", err)
			}
			p, err := k.client.Print(ctx, a, j.ID)
			if err != nil || len(p.PDF) == 0 {
				t.Fatalf("the holder's own print: %v", err)
			}
		})
		// The Saturday rule is the 戸籍's: a 住民票 is issued that day. (Last:
		// the seal's certificate is made at the first render, and the clock
		// does not go back before it.)
		t.Run("住民票 on a Saturday", func(t *testing.T) {
			w.set(time.Date(2026, 11, 28, 10, 0, 0, 0, wareki.JST()))
			defer w.set(tuesday)
			a := k.login(t, w.card(t, "本間　光"))
			if _, err := k.client.Order(ctx, a, jlis.Order{RequestKey: key("saturday"), Municipality: "062049", Type: municipal.Juminhyo}); err != nil {
				t.Error(err)
			}
		})
	})
}
