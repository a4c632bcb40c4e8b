package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mynaplat/mynaplat/community/evac"
	"github.com/mynaplat/mynaplat/store"
)

// TestEvacOfficeInBrowser: 美波町's evacuation officer (demo.Staff) signs
// in with her card at the staff terminal and issues a drill's order for
// 奥河内 on a tablet-sized screen (1280×800); the board shows 日和佐 正's
// household unaccounted; his acknowledgement from the TV (the disaster
// office, in this test, on the same database) and then his check-in with
// his card at the school's terminal (another browser) appear on the board
// without anyone reloading it
// (board.js follows the order's stream); the report gives his household's
// time; she lifts the order.
func TestEvacOfficeInBrowser(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	url := startServer(t, bin, "--demo", "--data", data)
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	office, err := evac.NewService(ctx, db, time.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := newFlowRun(t, sameURL(bin, data, url))
	r.do("a tablet", chromedp.EmulateViewport(1280, 800))
	r.staffLogin(url, "/evac/minami/office/", "浜崎　恵子", "evac-office")
	r.do("issue for 奥河内", chromedp.Click(css("#area-okukawachi")), chromedp.Click(css("#issue")), chromedp.WaitVisible(css("#totals")))
	if got := r.text("#area-total"); !strings.Contains(got, "1\t1\t0\t0\t0\t1") && !strings.Contains(strings.Join(strings.Fields(got), " "), "1 1 0 0 0 1") {
		t.Errorf("the board's totals after the order: %q, want one household, one person, unaccounted", got)
	}
	r.shot("evac-board-01-issued")
	found, err := office.Lookup(ctx, evac.Actor{ID: "test", Terminal: "test"}, "日和佐　正")
	if err != nil || len(found) != 1 {
		t.Fatalf("lookup: %+v, %v", found, err)
	}
	os, err := office.Orders(ctx)
	if err != nil || len(os) != 1 {
		t.Fatalf("orders: %+v, %v", os, err)
	}
	if err := office.Ack(ctx, evac.Actor{ID: found[0].PlatformID, Terminal: "tv-minami-1"}, os[0].ID); err != nil {
		t.Fatal(err)
	}
	r.do("the acknowledgement appears", chromedp.WaitVisible(css("#household-minami-0001 .acknowledged")))
	// He checks in at the school's card terminal (another browser): the
	// card, the PIN, 「入所・退所を受け付ける」.
	sh := newFlowRun(t, sameURL(bin, data, url))
	sh.do("the shelter's terminal", chromedp.Navigate(url+"/shelter/shelter-minami-1/"), chromedp.WaitVisible(css("#card")),
		chromedp.SetValue(css("#card"), sh.card("日和佐　正")), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")),
		chromedp.SendKeys(css("#pin"), "7890"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#touch")))
	sh.do("check in", chromedp.Click(css("#touch")), chromedp.WaitVisible(css("#checked-in")))
	if h := has(sh.text("#checked-in"), "日和佐　正"); h != "yes" {
		t.Errorf("the shelter's confirmation: %s", h)
	}
	sh.shot("evac-shelter-checked-in")
	r.do("the check-in appears", chromedp.WaitVisible(css("#household-minami-0001 .in")))
	if h := has(r.text("#report"), "避難した世帯 1／1"); h != "yes" {
		t.Errorf("the report: %s", h)
	}
	r.shot("evac-board-02-checked-in")
	// He touches his card again: out; then, having left his card, the
	// officer checks him in by name, which the board marks.
	sh.do("the card again: out", chromedp.Click(css("#next")), chromedp.WaitVisible(css("#card")),
		chromedp.SetValue(css("#card"), sh.card("日和佐　正")), chromedp.Click(css("#place")), chromedp.WaitVisible(css("#pin")),
		chromedp.SendKeys(css("#pin"), "7890"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#touch")),
		chromedp.Click(css("#touch")), chromedp.WaitVisible(css("#checked-out")))
	r.do("he has left", chromedp.WaitVisible(css("#household-minami-0001 .left")))
	boardURL := r.url()
	r.do("look him up by name", chromedp.Navigate(url+"/evac/minami/office/?name=日和佐"), chromedp.WaitVisible(css("#found")),
		chromedp.Click(css("#checkin-0")), chromedp.WaitVisible(css("#checked-in")))
	r.do("the board marks it", chromedp.Navigate(boardURL), chromedp.WaitVisible(css("#household-minami-0001 .in")))
	if h := has(r.text("#household-minami-0001"), "氏名で受付"); h != "yes" {
		t.Errorf("the check-in by name is not marked: %s", h)
	}
	r.do("lift", chromedp.Click(css("#lift")), chromedp.WaitNotPresent(css("#lift")))
	r.do("open the meeting house", chromedp.Navigate(url+"/evac/minami/office/"), chromedp.Click(css("#open-okukawachi-hall")),
		chromedp.WaitVisible(css("#close-okukawachi-hall")))
	if sh, err := office.Shelters(ctx); err != nil || !slices.ContainsFunc(sh, func(s evac.Shelter) bool { return s.ID == "okukawachi-hall" && s.Open }) {
		t.Errorf("the meeting house is not open: %+v, %v", sh, err)
	}
	if o, err := office.Order(ctx, os[0].ID); err != nil || o.Live() {
		t.Errorf("the order after the lift: %+v, %v", o, err)
	}
}
