package schedule

import "time"

// The sources, read from stored copies of the pages (docs/handbook.md §6
// lists what each gave and what could not be checked). Functions, not
// variables: the package keeps no state.
func srcSeirei() Source {
	return Source{Title: "予防接種法施行令 第3条（令和6年3月29日 政令第116号による改正後、令和6年4月1日施行）",
		URL:  "https://www.sn-hoki.co.jp/data/pickup_hourei/onct/YOBOUSESSHUHOU-REI20240329-116.html",
		Date: "2024-03-29", What: "statutory periods of every vaccine (the rotavirus row is cut in the stored copy)"}
}

func srcKobe() Source {
	return Source{Title: "神戸市 定期予防接種における『対象者』と『接種間隔』の考え方（厚生労働省事務連絡に基づく）",
		URL:  "http://202.246.160.112/a73576/kenko/health/infection/vaccination/rule.html",
		Date: "2024-03-29", What: "how ages (生後●月, ●歳未満, 出生●週●日後) are counted"}
}

func srcNatori() Source {
	return Source{Title: "名取市 定期予防接種における「対象者」と「接種間隔」の解釈について",
		URL:  "https://www.city.natori.miyagi.jp/page/28849.html",
		Date: "2025-01-29", What: "how intervals (27日以上, 1月の間隔) are counted"}
}

func srcKakamigahara() Source {
	return Source{Title: "各務原市 接種対象年齢・実施時期など一覧",
		URL:  "https://www.city.kakamigahara.lg.jp/kodomo/iryou/1002227/1002230.html",
		Date: "2024-04-01", What: "rotavirus products and periods; 5種混合"}
}

func srcYonago() Source {
	return Source{Title: "米子市 【令和6年4月1日】五種混合が定期接種になります",
		URL:  "http://www.city.yonago.lg.jp/42576.htm",
		Date: "2024-03-29", What: "5種混合 intervals and standard periods"}
}

func srcTerada() Source {
	return Source{Title: "てらだファミリークリニック 五種混合ワクチン",
		URL:  "https://terada-family-clinic.jp/index.php?%E4%BA%94%E7%A8%AE%E6%B7%B7%E5%90%88%E3%83%AF%E3%82%AF%E3%83%81%E3%83%B3",
		Date: "", What: "5種混合 from 2024-04; a series begun with 4種混合 and Hib is completed with them"}
}

func srcKasukabe() Source {
	return Source{Title: "春日部市 小児の肺炎球菌感染症",
		URL:  "https://kasukabe.city-hc.jp/open_announcement/knowledge/adGXKFjSKk88X6RC",
		Date: "", What: "PCV plans by age at the first dose"}
}

func srcChippubetsu() Source {
	return Source{Title: "秩父別町 小児肺炎球菌",
		URL:  "http://chippubetsu-town.city-hc.jp/open_announcement/vaccination/Agb5VYNKnicGsit4",
		Date: "", What: "PCV: no third primary dose after a second one past the first birthday"}
}

func srcKumano() Source {
	return Source{Title: "熊野町 小児肺炎球菌20価ワクチンについて",
		URL:  "https://www.town.kumano.hiroshima.jp/www/contents/1725410932244/index.html",
		Date: "2024-10-01", What: "PCV20 routine from 2024-10-01; a series begun with PCV15 is completed with it"}
}

func srcTakasaki() Source {
	return Source{Title: "高崎市 B型肝炎",
		URL:  "https://takasaki.city-hc.jp/open_announcement/vaccination/aEFW4MOmGYXlYFPG",
		Date: "", What: "hepatitis B intervals and standard period"}
}

func srcSaka() Source {
	return Source{Title: "坂町 予防接種の種類と接種期間",
		URL:  "https://www.town.saka.lg.jp/2021/03/29/post_617/",
		Date: "2023-07-07", What: "Hib plans; PCV; rotavirus"}
}

func srcHatoyama() Source {
	return Source{Title: "鳩山町 予防接種の種類による対象年齢と接種回数について",
		URL:  "http://www.town.hatoyama.saitama.jp/i/kosodate/boshi/1475141171609.html",
		Date: "", What: "BCG, 4種混合, DT, MR, 日本脳炎 standard periods and intervals (before 2023-04: 4種混合 from 3 months there)"}
}

func srcShinagawa() Source {
	return Source{Title: "品川区 四種混合",
		URL:  "https://shinagawa.city-hc.jp/announcement/knowledge/anw0vfiZMPDSxTtK",
		Date: "", What: "4種混合 intervals"}
}

func srcAioi() Source {
	return Source{Title: "相生市 水痘ワクチン",
		URL:  "https://www.city.aioi.lg.jp/soshiki/kosodategenki/suitou.html",
		Date: "2017-04-01", What: "varicella standard periods and interval"}
}

func srcTsushima() Source {
	return Source{Title: "津島市 麻しん風しん",
		URL:  "http://tsushima.city-hc.jp/open_announcement/knowledge/ar34lY7fVuLH1cL5",
		Date: "", What: "MR 1期 and 2期"}
}

func srcMaibara() Source {
	return Source{Title: "米原市 令和5年4月から9価HPVワクチン（シルガード9）が定期接種になります",
		URL:  "https://www.city.maibara.lg.jp/soshiki/kenko_fukushi/kenko_dukuri/yobo_shindan/yobousesshu/19331.html",
		Date: "2023-04-01", What: "HPV 9価: two doses when begun before 15, else three; intervals"}
}

func srcHekinan() Source {
	return Source{Title: "碧南市 HPV",
		URL:  "https://hekinan.city-hc.jp/open_announcement/knowledge/a9MYp8T1fJwAKS03",
		Date: "", What: "HPV standard period (13歳となる日の属する年度)"}
}

// Intervals used by several series.
const (
	d20 = 20
	d27 = 27
	d56 = 56
	d60 = 60
)

// Routine is the routine vaccination schedule for children as published
// for 2024-10-01 onwards (5種混合 since 2024-04-01, PCV20 since
// 2024-10-01). Each call builds it afresh: it is data, never changed.
func Routine() *Schedule {
	return &Schedule{
		Name:    "定期接種（小児）/ routine vaccinations for children",
		AsOf:    time.Date(2025, 1, 29, 0, 0, 0, 0, time.UTC),
		Sources: []Source{srcKobe(), srcNatori()},
		Vaccines: []Vaccine{
			hepB(), rota(), dptIPVHib(), dptIPV(), hib(), pcv(), bcg(), mr(), varicella(), je(), dt(), hpv(),
		},
	}
}

func hepB() Vaccine {
	v := Vaccine{ID: "hepb", NameJA: "B型肝炎", NameEN: "Hepatitis B",
		Sources: []Source{srcSeirei(), srcTakasaki()},
		Unverified: []string{
			"the first dose from birth: the 施行令 says 1歳に至るまで and sets no start; the 実施要領's own text was not in a stored source",
		}}
	v.Window.To = Y(1)
	std := func(r Rule) Rule { r.StdFrom, r.StdTo = M(2), M(9); return r }
	v.Plans = []Plan{{Rules: []Rule{
		std(Rule{Label: "1"}),
		std(Rule{Label: "2", MinAfterPrev: Interval{Days: d27}}),
		std(Rule{Label: "3", MinAfterFirst: Interval{Days: 139}}),
	}}}
	return v
}

func rota() Vaccine {
	v := Vaccine{ID: "rota", NameJA: "ロタウイルス", NameEN: "Rotavirus",
		Products:       map[string]Age{"rotarix": W(24, 0), "rotateq": W(32, 0)},
		DefaultProduct: "rotarix",
		Sources:        []Source{srcSeirei(), srcKakamigahara(), srcKobe()},
		Unverified: []string{
			"the 施行令's rotavirus row is cut in the stored copy: the product bounds (出生24週0日後, 32週0日後) are from the municipal page",
			"the first dose by 出生14週6日後 is given as a rule (接種してください) by the municipal page; whether the 実施規則 makes it a condition of routine status was not checked",
		}}
	v.Window.From, v.Window.To = W(6, 0), W(32, 0)
	first := Rule{Label: "1", MinAge: W(6, 0), MaxAge: W(14, 6), StdFrom: M(2)}
	next := func(l string) Rule { return Rule{Label: l, MinAfterPrev: Interval{Days: d27}} }
	v.Plans = []Plan{
		{Product: "rotarix", Rules: []Rule{first, next("2")}},
		{Product: "rotateq", Rules: []Rule{first, next("2"), next("3")}},
	}
	return v
}

// The 1期 primary and booster rules of the DPT-based series.
func dptRules(stdFirstTo Age, boosterFrom, boosterTo Interval) []Rule {
	return []Rule{
		{Label: "1期初回 1", MinAge: M(2), StdFrom: M(2), StdTo: stdFirstTo},
		{Label: "1期初回 2", MinAfterPrev: Interval{Days: d20}, StdAfterPrevTo: Interval{Days: d56}},
		{Label: "1期初回 3", MinAfterPrev: Interval{Days: d20}, StdAfterPrevTo: Interval{Days: d56}},
		{Label: "1期追加", MinAfterPrev: Interval{Months: 6}, StdAfterPrevFrom: boosterFrom, StdAfterPrevTo: boosterTo},
	}
}

func dptIPVHib() Vaccine {
	v := Vaccine{ID: "dpt-ipv-hib", NameJA: "5種混合（DPT-IPV-Hib）", NameEN: "DTaP-IPV-Hib (5-in-1)",
		YieldsTo: []string{"dpt-ipv", "hib"},
		Sources:  []Source{srcSeirei(), srcYonago(), srcKakamigahara(), srcTerada()},
		Unverified: []string{
			"the 施行令 gives 生後2月から生後90月 for ジフテリア・百日せき・急性灰白髄炎・破傷風 and 生後60月 for Hib: the 5種混合's own upper bound (90 months, 7歳6か月未満, as the municipal pages say) was not read in a national text",
		}}
	v.Window.From, v.Window.To = M(2), M(90)
	v.Plans = []Plan{{Rules: dptRules(M(7), Interval{Months: 6}, Interval{Months: 18})}}
	return v
}

func dptIPV() Vaccine {
	v := Vaccine{ID: "dpt-ipv", NameJA: "4種混合（DPT-IPV）", NameEN: "DTaP-IPV (4-in-1)",
		OnlyWith: []string{"dpt-ipv", "hib"},
		Sources:  []Source{srcSeirei(), srcShinagawa(), srcHatoyama(), srcTerada()}}
	v.Window.From, v.Window.To = M(2), M(90)
	v.Plans = []Plan{{Rules: dptRules(M(12), Interval{Months: 12}, Interval{Months: 18})}}
	return v
}

func hib() Vaccine {
	v := Vaccine{ID: "hib", NameJA: "ヒブ（Hib）", NameEN: "Hib",
		OnlyWith: []string{"dpt-ipv", "hib"},
		Sources:  []Source{srcSeirei(), srcSaka(), srcTerada()},
		Unverified: []string{
			"the booster's least age when a primary dose was left out (12 months reached) is not stated: only its interval (7 months after the last primary dose) is applied",
		}}
	v.Window.From, v.Window.To = M(2), M(60)
	primary := func(l string) Rule {
		return Rule{Label: l, MinAfterPrev: Interval{Days: d27}, StdAfterPrevTo: Interval{Days: d56}, MaxAge: M(12), SkipWhenLate: true}
	}
	booster := Rule{Label: "追加", MinAfterPrev: Interval{Months: 7}, StdAfterPrevFrom: Interval{Months: 7}, StdAfterPrevTo: Interval{Months: 13}}
	v.Plans = []Plan{
		{FirstFrom: M(2), FirstTo: M(7), Rules: []Rule{{Label: "初回 1", MinAge: M(2), StdFrom: M(2), StdTo: M(7)}, primary("初回 2"), primary("初回 3"), booster}},
		{FirstFrom: M(7), FirstTo: M(12), Rules: []Rule{{Label: "初回 1"}, primary("初回 2"), booster}},
		{FirstFrom: M(12), Rules: []Rule{{Label: "1"}}},
	}
	return v
}

func pcv() Vaccine {
	v := Vaccine{ID: "pcv", NameJA: "小児の肺炎球菌（PCV20／PCV15）", NameEN: "Pneumococcal conjugate (PCV20 / PCV15)",
		Sources: []Source{srcSeirei(), srcKasukabe(), srcChippubetsu(), srcSaka(), srcKumano()}}
	v.Window.From, v.Window.To = M(2), M(60)
	late := func(r Rule) Rule { r.MaxAge, r.SkipWhenLate = M(24), true; return r }
	booster := Rule{Label: "追加", MinAfterPrev: Interval{Days: d60}, MinAge: M(12), StdFrom: M(12), StdTo: M(15)}
	v.Plans = []Plan{
		{FirstFrom: M(2), FirstTo: M(7), Rules: []Rule{
			{Label: "初回 1", MinAge: M(2), StdFrom: M(2), StdTo: M(7)},
			late(Rule{Label: "初回 2", MinAfterPrev: Interval{Days: d27}, StdTo: M(12)}),
			late(Rule{Label: "初回 3", MinAfterPrev: Interval{Days: d27}, StdTo: M(12), SkipIfPrevAfter: M(12)}),
			booster,
		}},
		{FirstFrom: M(7), FirstTo: M(12), Rules: []Rule{
			{Label: "初回 1"},
			late(Rule{Label: "初回 2", MinAfterPrev: Interval{Days: d27}}),
			{Label: "追加", MinAfterPrev: Interval{Days: d60}, MinAge: M(12)},
		}},
		{FirstFrom: M(12), FirstTo: M(24), Rules: []Rule{{Label: "1"}, {Label: "2", MinAfterPrev: Interval{Days: d60}}}},
		{FirstFrom: M(24), Rules: []Rule{{Label: "1"}}},
	}
	return v
}

func bcg() Vaccine {
	v := Vaccine{ID: "bcg", NameJA: "BCG", NameEN: "BCG",
		Sources: []Source{srcSeirei(), srcHatoyama(), srcSaka()}}
	v.Window.To = Y(1)
	v.Plans = []Plan{{Rules: []Rule{{Label: "1", StdFrom: M(5), StdTo: M(8)}}}}
	return v
}

func mr() Vaccine {
	v := Vaccine{ID: "mr", NameJA: "麻しん風しん（MR）", NameEN: "Measles–rubella (MR)",
		Sources: []Source{srcSeirei(), srcTsushima(), srcHatoyama()},
		Unverified: []string{
			"a child who missed 1期 is offered 2期 in the year before school (1期 left out): the sources do not say otherwise; not checked against the 実施要領",
		}}
	v.Window.From, v.Window.To = M(12), PreTo()
	v.Plans = []Plan{{Rules: []Rule{
		{Label: "1期", MinAge: M(12), MaxAge: M(24), SkipWhenLate: true},
		{Label: "2期", MinAge: PreFrom(), MaxAge: PreTo()},
	}}}
	return v
}

func varicella() Vaccine {
	v := Vaccine{ID: "varicella", NameJA: "水痘", NameEN: "Varicella",
		Sources: []Source{srcSeirei(), srcAioi()}}
	v.Window.From, v.Window.To = M(12), M(36)
	v.Plans = []Plan{{Rules: []Rule{
		{Label: "1", MinAge: M(12), StdFrom: M(12), StdTo: M(15)},
		{Label: "2", MinAfterPrev: Interval{Months: 3}, StdAfterPrevFrom: Interval{Months: 6}, StdAfterPrevTo: Interval{Months: 12}},
	}}}
	return v
}

func je() Vaccine {
	v := Vaccine{ID: "je", NameJA: "日本脳炎", NameEN: "Japanese encephalitis",
		Sources: []Source{srcSeirei(), srcHatoyama()},
		Unverified: []string{
			"1期追加's least interval (6 months after 初回) is not in a stored source: the stored page says 概ね1年 (taken as the standard); 6 months is the commonly published minimum, marked here as unverified",
			"the 特例 for those born 1995-04-02 to 2007-04-01 (up to 20) is not modelled",
			"a child who missed 1期 is offered 2期 at 9 (1期 left out once past 90 months): the 施行令's periods allow it; whether 1期 doses are then to be made up was not checked",
		}}
	v.Window.From, v.Window.To = M(6), Y(13)
	p1 := func(r Rule) Rule { r.MaxAge, r.SkipWhenLate = M(90), true; return r }
	v.Plans = []Plan{{Rules: []Rule{
		p1(Rule{Label: "1期初回 1", MinAge: M(6), StdFrom: Y(3), StdTo: Y(4)}),
		p1(Rule{Label: "1期初回 2", MinAfterPrev: Interval{Days: 6}, StdAfterPrevTo: Interval{Days: 28}}),
		p1(Rule{Label: "1期追加", MinAfterPrev: Interval{Months: 6}, StdAfterPrevFrom: Interval{Months: 12}, StdFrom: Y(4), StdTo: Y(5)}),
		{Label: "2期", MinAge: Y(9), MaxAge: Y(13), StdFrom: Y(9), StdTo: Y(10)},
	}}}
	return v
}

func dt() Vaccine {
	v := Vaccine{ID: "dt", NameJA: "2種混合（DT）2期", NameEN: "DT (2nd stage)",
		Sources: []Source{srcSeirei(), srcHatoyama()}}
	v.Window.From, v.Window.To = Y(11), Y(13)
	v.Plans = []Plan{{Rules: []Rule{{Label: "2期", StdFrom: Y(11), StdTo: Y(12)}}}}
	return v
}

func hpv() Vaccine {
	v := Vaccine{ID: "hpv", NameJA: "HPV（ヒトパピローマウイルス）", NameEN: "HPV",
		Sex: Female, DefaultProduct: "9v",
		Sources: []Source{srcSeirei(), srcMaibara(), srcHekinan()},
		Unverified: []string{
			"only the 9-valent vaccine (シルガード9) is modelled; a series begun with the 2- or 4-valent vaccine answers not_applicable (no_plan_for_age)",
			"a second 9v dose less than 5 months after the first needs a third 3 months later: not modelled",
			"the catch-up (キャッチアップ接種) ended 2025-03-31 (経過措置 to 2026-03-31 for series begun): not modelled",
		}}
	v.Window.From, v.Window.To = FYStart(12), FYEnd(16)
	v.Plans = []Plan{
		{Product: "9v", FirstFrom: FYStart(12), FirstTo: Y(15), Rules: []Rule{
			{Label: "1", StdFrom: FYStart(13), StdTo: FYEnd(13)},
			{Label: "2", MinAfterPrev: Interval{Months: 5}, StdAfterPrevFrom: Interval{Months: 6}},
		}},
		{Product: "9v", FirstFrom: Y(15), Rules: []Rule{
			{Label: "1"},
			{Label: "2", MinAfterPrev: Interval{Months: 1}, StdAfterPrevFrom: Interval{Months: 2}},
			{Label: "3", MinAfterPrev: Interval{Months: 3}, StdAfterFirstFrom: Interval{Months: 6}},
		}},
	}
	return v
}
