package reception

import (
	"context"
	"net/http"
	"strings"

	"github.com/mynaplat/mynaplat/eligibility"
	"github.com/mynaplat/mynaplat/terminal"
)

// modeNames are the ways of checking as a person reads them.
var modeNames = map[string][2]string{
	eligibility.ModeCard:    {"マイナンバーカードで資格確認", "Eligibility check with the card"},
	eligibility.ModeOffline: {"マイナンバーカードで資格確認（オフライン、後で確定）", "Eligibility check with the card (offline, confirmed later)"},
	eligibility.ModePaper:   {"資格確認書で資格確認", "Eligibility check by the 資格確認書"},
	eligibility.ModeBatch:   {"予約の一括照会", "Batch pre-check of a reservation"},
}

// consentNames are the consent choices as a person reads them.
var consentNames = map[string][2]string{
	"medical": {"診療情報", "medical information"}, "drug": {"薬剤情報", "prescriptions"},
	"checkup": {"特定健診情報", "checkups"}, "limit": {"限度額適用区分", "ceiling category"},
}

// History is the eligibility checks of a card holder for the audit page
// (terminal.PagesConfig.History), fetched from the service's API.
func History(baseURL string, hc *http.Client) terminal.History {
	return terminal.History{TitleJA: "健康保険の資格確認", TitleEN: "Health-insurance eligibility checks",
		Fetch: func(ctx context.Context, assertion string) ([]terminal.HistoryEntry, error) {
			checks, err := eligibility.MyChecks(ctx, hc, baseURL, assertion)
			if err != nil {
				return nil, err
			}
			out := make([]terminal.HistoryEntry, 0, len(checks))
			for _, c := range checks {
				n, ok := modeNames[c.Mode]
				if !ok {
					n = [2]string{c.Mode, c.Mode}
				}
				if c.Consent != "none" && c.Consent != "" {
					var ja, en []string
					for _, k := range strings.Split(c.Consent, ",") {
						if name, ok := consentNames[k]; ok {
							ja, en = append(ja, name[0]), append(en, name[1])
						}
					}
					n[0] += "（提供に同意: " + strings.Join(ja, "・") + "）"
					n[1] += " (consented: " + strings.Join(en, ", ") + ")"
				}
				out = append(out, terminal.HistoryEntry{At: c.At, Where: c.Name + "（" + c.Facility + "）", WhatJA: n[0], WhatEN: n[1], Result: c.Validity})
			}
			return out, nil
		}}
}
