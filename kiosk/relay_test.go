package kiosk

import (
	"context"
	"errors"
	"testing"

	"github.com/mynaplat/mynaplat/jlis"
	"github.com/mynaplat/mynaplat/municipal"
	"github.com/mynaplat/mynaplat/store"
	"github.com/mynaplat/mynaplat/store/storetest"
	"github.com/mynaplat/mynaplat/terminal"
)

// key makes a request key unique within a test.
func key(s string) string { return "request-key-" + s + "-0000" }

func TestRelayResidenceAndHonseki(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		k := w.kiosk(t, "kiosk-lawson-sakata-1")
		cd := w.card(t, "酒田　一郎")
		a := k.login(t, cd)
		menu, err := k.client.Menu(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if menu.Residence != "062049" || len(menu.Items) == 0 {
			t.Fatalf("menu %+v", menu)
		}
		for _, it := range menu.Items {
			if it.Municipality != "062049" || it.Basis != jlis.BasisResidence {
				t.Errorf("item before registration: %+v", it)
			}
		}
		j, err := k.client.Order(ctx, a, jlis.Order{RequestKey: key("1"), Municipality: "062049", Type: municipal.Juminhyo})
		if err != nil {
			t.Fatal(err)
		}
		if j.State != jlis.Rendered || j.Fee != 200 || j.CertNumber == "" {
			t.Fatalf("order %+v", j)
		}
		p, err := k.client.Print(ctx, a, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		sm, _ := jlis.SealMunicipality("062049")
		if err := w.seal.CheckSealed(sm, p.PDF); err != nil {
			t.Errorf("printed PDF: %v", err)
		}
		if _, err := k.client.Print(ctx, a, j.ID); !errors.Is(err, jlis.ErrAlreadyPrinted) {
			t.Errorf("second print: %v, want ErrAlreadyPrinted", err)
		}
		// The 戸籍 is not kept by the 住所地.
		_, err = k.client.Order(ctx, a, jlis.Order{RequestKey: key("2"), Municipality: "062049", Type: municipal.KosekiZenbu})
		var ae *jlis.APIError
		if !errors.As(err, &ae) || ae.Code != municipal.CodeHonsekiElsewhere {
			t.Fatalf("koseki at the 住所地: %v", err)
		}
		// Nor can it be had from the 本籍地 before registering.
		_, err = k.client.Order(ctx, a, jlis.Order{RequestKey: key("3"), Municipality: "062014", Type: municipal.KosekiZenbu})
		if !errors.As(err, &ae) || ae.Code != jlis.CodeNotRegistered {
			t.Fatalf("koseki before registering: %v", err)
		}
		doc, err := k.client.RegistrationDocument(ctx, a, "062014")
		if err != nil {
			t.Fatal(err)
		}
		certDER, sig, err := terminal.SignDocument(cd, testPassword, []byte(doc.Text))
		if err != nil {
			t.Fatal(err)
		}
		reg, err := k.client.Register(ctx, a, "062014", doc.ShownAt, certDER, sig)
		if err != nil {
			t.Fatal(err)
		}
		if reg.Status != jlis.RegApproved {
			t.Fatalf("registration %+v", reg)
		}
		menu, err = k.client.Menu(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		var honseki int
		for _, it := range menu.Items {
			if it.Municipality == "062014" {
				honseki++
				if it.Basis != jlis.BasisHonseki || !it.Type.FromKoseki() {
					t.Errorf("item after registration: %+v", it)
				}
			}
		}
		if honseki != 3 {
			t.Errorf("本籍地 items: %d, want 3 (全部, 個人, 附票)", honseki)
		}
		j, err = k.client.Order(ctx, a, jlis.Order{RequestKey: key("4"), Municipality: "062014", Type: municipal.KosekiZenbu})
		if err != nil {
			t.Fatal(err)
		}
		if j.Municipality != "062014" || j.Fee != 350 {
			t.Fatalf("koseki job %+v", j)
		}
		if _, err := k.client.Print(ctx, a, j.ID); err != nil {
			t.Fatal(err)
		}
	})
}
