package demo

import (
	"context"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/community/catv"
	"github.com/mynaplat/mynaplat/platform"
)

// CATVConfig is what the CATV part of the demo needs: the operators'
// service, and the platform and the cards to learn the subscribers'
// platform IDs.
type CATVConfig struct {
	CATV     *catv.Service
	Platform *platform.Platform
	Cards    *card.Store
	Now      func() time.Time
}

// catvOperator is a demo CATV operator: its ID, its STB, the household at
// the box (by name, with the area) and its messages.
type catvOperator struct {
	ID, Name, Town, Terminal, Area string
	Household                      []string
	// To is the person (of the household) the operator's ToPerson messages
	// are for.
	To       string
	Messages []catv.Message
}

// CATVOperators are the demo's operators, one per STB of the demo (demo.go).
var CATVOperators = []catvOperator{
	{ID: "suko", Name: "須高ケーブルテレビ", Town: "須坂市", Terminal: "tv-suzaka-1", Area: "須坂 北部", Household: []string{"須坂　花子", "須坂　健太"}, To: "須坂　花子",
		Messages: []catv.Message{
			{Sender: "須高ケーブルテレビ", SenderKind: catv.FromOperator, Scope: catv.ToAll,
				TitleJA: "12月15日 深夜の設備点検", TitleEN: "Maintenance on the night of 15 December",
				BodyJA: "12月15日 午前1時から4時まで、設備点検のため一部の番組とインターネットが止まります。", BodyEN: "From 1 to 4 a.m. on 15 December some channels and the internet stop for maintenance."},
			{Sender: "須坂市", SenderKind: catv.FromTown, Scope: catv.ToArea, Area: "須坂 北部",
				TitleJA: "北部地区 断水のお知らせ", TitleEN: "Water cut in the northern area",
				BodyJA: "12月10日 午前9時から正午まで、水道管工事のため北部地区で断水します。", BodyEN: "On 10 December from 9 a.m. to noon the water is cut in the northern area for pipe works."},
			{Sender: "須坂市", SenderKind: catv.FromTown, Scope: catv.ToPerson,
				TitleJA: "特定健診のご案内", TitleEN: "Your health checkup",
				BodyJA: "今年度の特定健診の受診券をお送りしました。1月末までに受診してください。", BodyEN: "This year's checkup voucher has been sent to you. Please have the checkup by the end of January."},
		}},
	{ID: "tonami", Name: "となみ衛星通信テレビ", Town: "南砺市", Terminal: "tv-nanto-1", Area: "井波", Household: []string{"井波　清"},
		Messages: []catv.Message{
			{Sender: "南砺市", SenderKind: catv.FromTown, Scope: catv.ToAll,
				TitleJA: "年末年始のごみ収集", TitleEN: "Rubbish collection over the New Year",
				BodyJA: "12月31日から1月3日まではごみ収集を休みます。", BodyEN: "There is no rubbish collection from 31 December to 3 January."},
		}},
	{ID: "chukai", Name: "中海テレビ放送", Town: "南部町", Terminal: "tv-nambu-1", Area: "法勝寺", Household: []string{"法勝寺　トメ"},
		Messages: []catv.Message{
			{Sender: "南部町", SenderKind: catv.FromTown, Scope: catv.ToAll,
				TitleJA: "インフルエンザ予防接種の助成", TitleEN: "Help with the flu vaccination",
				BodyJA: "65歳以上の方の予防接種を町が助成します。保健センターにお問い合わせください。", BodyEN: "The town helps pay the flu vaccination of people aged 65 and over. Ask the health centre."},
		}},
	{ID: "minami", Name: "ケーブルテレビ美波", Town: "美波町", Terminal: "tv-minami-1", Area: "奥河内", Household: []string{"日和佐　正"},
		Messages: []catv.Message{
			{Sender: "美波町", SenderKind: catv.FromTown, Scope: catv.ToAll,
				TitleJA: "津波避難訓練のお知らせ", TitleEN: "Tsunami evacuation drill",
				BodyJA: "2月7日 午前9時から津波避難訓練を行います。テレビに避難指示が出たら、赤ボタンで確認し、避難所でカードをかざしてください。",
				BodyEN: "A tsunami evacuation drill starts at 9 a.m. on 7 February. When the order appears on the TV, acknowledge it with the red key and touch your card at the shelter."},
		}},
}

// SeedCATV seeds the operators' subscribers and messages once.
func SeedCATV(ctx context.Context, cfg CATVConfig) error {
	for _, op := range CATVOperators {
		o := cfg.CATV.Operator(op.ID)
		done, err := o.HasSubscribers(ctx)
		if err != nil {
			return err
		}
		if done {
			continue
		}
		if err := o.SetProfile(ctx, catv.Profile{Name: op.Name, Town: op.Town}); err != nil {
			return fmt.Errorf("demo: catv %s: %w", op.ID, err)
		}
		ids := map[string]string{}
		for i, name := range op.Household {
			pid, err := holderID(ctx, cfg.Platform, cfg.Cards, name)
			if err != nil {
				return fmt.Errorf("demo: catv %s: %w", op.ID, err)
			}
			ids[name] = pid
			if err := o.Subscribe(ctx, catv.Subscriber{PlatformID: pid, Terminal: op.Terminal,
				Number: fmt.Sprintf("%s-%04d", op.ID, i+1), Area: op.Area}); err != nil {
				return fmt.Errorf("demo: catv %s: %w", op.ID, err)
			}
		}
		for _, m := range op.Messages {
			if m.Scope == catv.ToPerson {
				m.PlatformID = ids[op.To]
			}
			if _, err := o.Send(ctx, m); err != nil {
				return fmt.Errorf("demo: catv %s: %s: %w", op.ID, m.TitleJA, err)
			}
		}
	}
	return nil
}

// holderID is the platform ID of the demo card holder of that name.
func holderID(ctx context.Context, plat *platform.Platform, cards *card.Store, name string) (string, error) {
	infos, err := cards.List()
	if err != nil {
		return "", err
	}
	for _, in := range infos {
		if !in.Demo || in.Holder != name {
			continue
		}
		cd, err := cards.Open(in.ID)
		if err != nil {
			return "", err
		}
		der, err := card.NewClient(cd).Certificate(card.Auth)
		if err != nil {
			return "", fmt.Errorf("%s: read the certificate: %w", name, err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return "", err
		}
		return plat.EnrolHolder(ctx, cert)
	}
	return "", fmt.Errorf("no demo card of %s", name)
}
