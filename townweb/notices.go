package townweb

import "time"

// jst is Japan Standard Time, the town's notices' time zone (fixed: Japan
// has no daylight saving time).
var jst = time.FixedZone("JST", 9*60*60)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 9, 0, 0, 0, jst) }

// demoNotices are the made-up notices of 須坂市 the demo seeds.
var demoNotices = []Notice{
	{ID: "n2026-101", Topic: "general", Published: day(2026, 12, 1),
		TitleJA: "年末年始の市役所窓口について", TitleEN: "City hall over the New Year holidays",
		BodyJA: "12月29日から1月3日まで、市役所の窓口はお休みです。コンビニ交付は12月31日まで使えます。",
		BodyEN: "City hall counters are closed from 29 December to 3 January. Convenience-store certificates are available until 31 December."},
	{ID: "n2026-102", Topic: "childcare", Published: day(2026, 11, 20),
		TitleJA: "児童手当の現況確認のお願い", TitleEN: "Child allowance: please confirm your situation",
		BodyJA: "対象の世帯には11月末までに書類をお送りしています。マイナポータルからも手続きできます。",
		BodyEN: "Households concerned receive a form by the end of November; it can also be done online."},
	{ID: "n2026-103", Topic: "childcare", Published: day(2026, 12, 3),
		TitleJA: "子育て支援センターの冬休み開館日", TitleEN: "Childcare support centre: winter opening days",
		BodyJA: "冬休み中も平日は9時から16時まで開館します。",
		BodyEN: "Open on weekdays from 9:00 to 16:00 during the winter holidays."},
	{ID: "n2026-104", Topic: "disaster", Published: day(2026, 11, 28),
		TitleJA: "大雪に備えて：除雪と避難所のご案内", TitleEN: "Heavy snow: snow clearing and shelters",
		BodyJA: "市の除雪計画と、大雪のときに開く避難所の一覧を掲載しました。",
		BodyEN: "The city's snow-clearing plan and the shelters opened in heavy snow are now published."},
	{ID: "n2026-105", Topic: "waste", Published: day(2026, 12, 2),
		TitleJA: "年末年始のごみ収集日程", TitleEN: "Waste collection over the New Year",
		BodyJA: "12月31日から1月3日は収集がありません。可燃ごみは12月30日が年内最後です。",
		BodyEN: "No collection from 31 December to 3 January; the last burnable waste collection of the year is on 30 December."},
	{ID: "n2026-106", Topic: "health", Published: day(2026, 11, 15),
		TitleJA: "インフルエンザ予防接種の助成", TitleEN: "Influenza vaccination subsidy",
		BodyJA: "65歳以上の方と中学生以下のお子さんは、接種費用の一部を市が助成します。",
		BodyEN: "The city pays part of the cost for people aged 65 and over and for children up to junior high school."},
	{ID: "n2026-107", Topic: "tax", Published: day(2026, 12, 4),
		TitleJA: "固定資産税 第4期の納期限は12月25日です", TitleEN: "Fixed asset tax: the 4th instalment is due on 25 December",
		BodyJA: "口座振替の方は前日までに残高をご確認ください。",
		BodyEN: "If you pay by direct debit, please check your balance the day before."},
}
