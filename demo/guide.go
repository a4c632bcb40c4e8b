package demo

import (
	"slices"

	"github.com/mynaplat/mynaplat/card"
	"github.com/mynaplat/mynaplat/platform"
	"github.com/mynaplat/mynaplat/terminal"
	"github.com/mynaplat/mynaplat/web"
)

// The guide to the demo world: the home page follows the items of the 2015
// overview the system comes from and the earlier pilots it cites
// (docs/seed.md), each with what to open, the card to use, and — said
// plainly — what is not built yet. A newcomer should not have to read the
// code to learn that the TV portal does not exist.

// FirstSteps are the three things to try first. The home page's はじめに
// shows them, and `mynaplat serve --demo` prints them when it is ready.
func FirstSteps() []web.Step {
	ichiro := homeCard("酒田　一郎", "", "")
	return []web.Step{
		{Path: "/demo", TitleJA: "デモ用カードと暗証番号", TitleEN: "Demo cards and PINs",
			DoJA: "氏名・カードID・暗証番号・署名用パスワードと、それぞれのカードをどこで使うか、端末がどこにあるか。",
			DoEN: "Names, card IDs, PINs, signing passwords, where each card is used and where the terminals are."},
		{Path: "/kiosk/" + Kiosks[0].ID + "/", TitleJA: "コンビニで住民票の写しを印刷", TitleEN: "Print a residence certificate at a convenience store",
			DoJA: "「行政サービス」→ カードを置く → 暗証番号 → 証明書を選んで印刷。できたPDFは /verify で真正か確かめられます。",
			DoEN: "行政サービス → place the card → PIN → choose a certificate and print. /verify then tells whether the PDF is genuine.",
			Card: &web.HomeCard{Name: ichiro.Name, PIN: ichiro.PIN}},
		{Path: "/postbox/", TitleJA: "電子私書箱で証明書を受け取り、税務署へ送る", TitleEN: "Receive a certificate in the post box and send it to the tax office",
			DoJA: "カードでログイン → 届いた保険料控除証明書（署名と電子委任状の検証結果つき）→「申告・申請を送る」で酒田税務署へ（署名用パスワードで署名）。",
			DoEN: "Log in with the card → the premium certificate received (with its signature and power-of-attorney checks) → 申告・申請を送る to the Sakata tax office, signed with the signing password.",
			Card: &ichiro},
	}
}

// The IDs of the home page's sections, the anchors /#ID that /demo links to.
const (
	SectionStart       = "start"
	SectionKonbini     = "konbini"
	SectionEligibility = "eligibility"
	SectionTV          = "catv"
	SectionPilot1      = "pilot-1"
	SectionPilot2      = "pilot-2"
	SectionPilot3      = "pilot-3"
	SectionPostbox     = "postbox"
	SectionProcurement = "procurement"
	SectionPilot4      = "pilot-4"
	SectionBase        = "base"
)

// Guide is the home page's sections. world says whether the demo world is
// in the data: without it the sections keep what they say about the system,
// and the place to start says how to get the demo cards instead of steps
// that would need them.
func Guide(world bool) []web.HomeSection {
	start := web.HomeSection{ID: SectionStart, TitleJA: "はじめに", TitleEN: "Start here", Framed: true,
		DescJA: "mynaplat は、総務省「平成27年度実証事業の概要」（2015年9月29日）に挙がったマイナンバーカードの使い道を、" +
			"テスト用の公的個人認証（証明書はすべて O=JPKI-TEST）の上に再現したものです。このページはその項目の順に並んでいます" +
			"（出典の要約は docs/seed.md）。まず次の三つを試してください。",
		DescEN: "mynaplat rebuilds the uses of the My Number Card named in the ministry's overview of the 2015 demonstration " +
			"projects (総務省, 29 September 2015) on a test JPKI (every certificate says O=JPKI-TEST). This page follows the " +
			"overview's items (summarised in docs/seed.md). Try these three first.",
		Steps: FirstSteps(), Paths: []string{"/demo"}}
	if !world {
		start.DescJA = "mynaplat は、総務省「平成27年度実証事業の概要」（2015年9月29日）に挙がったマイナンバーカードの使い道を、" +
			"テスト用の公的個人認証の上に再現したものです。このページはその項目の順に並んでいます（出典の要約は docs/seed.md）。" +
			"デモ用のカードと端末はまだありません。make run（mynaplat serve --demo）で起動すると用意されます。"
		start.DescEN = "mynaplat rebuilds the uses of the My Number Card named in the ministry's overview of the 2015 demonstration " +
			"projects (総務省, 29 September 2015) on a test JPKI. This page follows the overview's items (summarised in " +
			"docs/seed.md). There are no demo cards or terminals yet: start with make run (mynaplat serve --demo)."
		start.Steps = nil
	}
	sections := []web.HomeSection{
		start,
		{ID: SectionKonbini, TitleJA: "(1) コンビニ交付：カードで証明書を印刷", TitleEN: "(1) Certificates at convenience-store kiosks",
			DescJA: "コンビニのマルチコピー機で、住民票の写し・印鑑登録証明書・所得課税証明書を。本籍地に利用登録すれば、" +
				"別の町の戸籍証明書と戸籍の附票の写しも。J-LIS の中継を通じて各市区町村の発行サーバーが作り、偽造防止の署名とQRコードをつけます。",
			DescEN: "Residence, seal and tax certificates from a store's multi-copy machine; after registering with the town of " +
				"the 本籍, that town's family-register certificates too. Each town's issuance server makes them through the J-LIS " +
				"relay and seals them with a signature and a signed QR code.",
			Status: web.Built,
			Cards: []web.HomeCard{homeCard("酒田　一郎", "本籍は山形市：「本籍地の利用登録」で戸籍証明書も", "本籍 in 山形市: register there for family-register certificates"),
				homeCard("須坂　花子", "須坂インター店で", "at the Suzaka store")},
			Paths: []string{"/kiosk/", "/verify", "/municipal/"}},
		{ID: SectionEligibility, TitleJA: "(2) 資格確認とカード払い ― ⑥ 酒田市 日本海総合病院", TitleEN: "(2) Eligibility checks and payment with the card — ⑥ Sakata, Nihonkai General Hospital",
			DescJA: "病院の受付でカードを置くと、健康保険の資格をその場でオンライン確認。自己負担金はあらかじめ登録したクレジットカードで払えます。" +
				"電波の届かない訪問先でもモバイル端末で確認し、つながってから送ります。",
			DescEN: "Place the card at the hospital's reception and the health insurance is checked online at once; the co-payment " +
				"is charged to a credit card linked beforehand. A mobile terminal checks on home visits without network and sends later.",
			Status: web.Built,
			Cards: []web.HomeCard{homeCard("酒田　一郎", "まず /pay/ でクレジットカードを登録", "link a credit card at /pay/ first"),
				homeCard("本間　光", "暗証番号ロック：受付で資格確認書から確認", "PIN blocked: checked from her paper certificate")},
			Paths: []string{"/reception/", "/pay/", "/clinic/", "/insurer/06230012/"}},
		{ID: SectionTV, TitleJA: "(3) テレビ（ケーブルテレビ・スマートテレビ）からの本人確認", TitleEN: "(3) Logging in from cable TV and smart TVs",
			DescJA: "テレビのセットトップボックス（STB）のリーダーにカードを置いてログイン。利用者証明用電子証明書から共通プラットフォームIDが決まり、" +
				"サービスはこのIDで本人を識別します（個人番号は使いません）。" +
				"須高ケーブルのSTB（下の①）で須坂 花子さんのカードでログインすると、町とケーブル局からの未読のお知らせが先に出ます（決定で読む、戻るで残り、青＝B でメニュー、メニューの 1 でお知らせ一覧）。" +
				"お知らせは職員のカードで /catv/suko/office/ から送れます（相森 達也＝ケーブル局は全員・地区あて、本上 里美＝須坂市は個人あても）。" +
				"リモコンの代わりにキーボードで：矢印・Enter・戻る＝Esc・数字キー・色ボタン＝R/G/Y/B。",
			DescEN: "Log in by placing the card on the reader of a TV set-top box (STB). The authentication certificate gives the " +
				"common platform ID, by which services know the person (never by the My Number). " +
				"Log in at the Suko cable STB (① below) with 須坂 花子's card: her unread messages from the town and the cable operator come first (Enter reads one, Back shows the rest, blue = B the menu, 1 on the menu the list). " +
				"Staff send messages at /catv/suko/office/ with their cards (相森 達也 for the operator: to all or an area; 本上 里美 for 須坂市: also to one person). " +
				"The keyboard stands in for the remote: arrows, Enter, Back = Esc, number keys, colour keys = R/G/Y/B.",
			Status:    web.PartlyBuilt,
			MissingJA: "②と③の下に書いたもの。",
			MissingEN: "What ② and ③ below list.",
			Cards:     []web.HomeCard{homeCard("須坂　花子", "", "")},
			// The TVs' pages are the pilots' below: a path claimed here
			// too would leave the pilot without its link (web.HomeSection).
			Paths: []string{"/catv/suko/office/"},
			Sub: []web.HomeSection{
				{ID: SectionPilot1, TitleJA: "① 須坂市・南砺市：テレビで健康情報と施設予約", TitleEN: "① Suzaka and Nanto: health records and facility bookings on the TV",
					DescJA: "須高ケーブル・となみケーブルのSTBからカードでログインし、自分の健康情報を見たり、市の施設を予約したりした先行事例。" +
						"STBでカードでログインし（お知らせの後、青＝B でメニュー）、メニューの「健診結果」（数字キー 2）で年度の一覧、決定でその年度の結果（基準から外れた値に ▲▼）、黄＝Y でグラフ、戻るで前の画面へ。" +
						"「施設予約」（3）で施設を数字キーで、枠を決定で選び、もう一度決定で予約すると予約の一覧が出ます（施設の画面からは黄＝Y）。一覧の数字キーで予約を開き、赤＝R で取り消し。前の日にテレビへお知らせが届きます。" +
						"井波 清さん（南砺市・となみケーブル）、法勝寺 トメさん（南部町）の健診結果もあります。",
					DescEN: "An earlier pilot: log in with the card at the Suko and Tonami cable STBs, see one's health records and book town facilities. " +
						"Log in at the STB with the card (after the messages, blue = B is the menu): \"My checkups\" (number key 2) lists the years, Enter opens one with the values outside the range marked ▲▼, yellow = Y draws the chart, Back goes back. " +
						"\"Facility booking\" (3): a facility by its number key, a slot with Enter, Enter again books it and shows your bookings (yellow = Y on the facilities too); a booking's number key opens it and red = R cancels it. The TV reminds you the day before. " +
						"井波 清 (南砺市, the Tonami STB) and 法勝寺 トメ (南部町) have checkups too.",
					Status: web.Built,
					Cards:  []web.HomeCard{homeCard("須坂　花子", "", ""), homeCard("須坂　健太", "", ""), homeCard("井波　清", "", "")},
					Paths:  []string{tvPath("tv-suzaka-1"), tvPath("tv-nanto-1")}},
				{ID: SectionPilot2, TitleJA: "② 南部町：高齢者の見守りと子どもの登下校メール", TitleEN: "② Nambu: watching over the elderly, and school check-in mail",
					DescJA: "高齢者が毎日STBにカードを置いて体調を入力し、町の保健師が見守る。小学生が学校の玄関のリーダーにカードをタッチすると保護者にメールが届く。" +
						"見守り：中海テレビのSTB（tv-nambu-1）で法勝寺 トメさんのカードでログインすると、すぐに今日の確認が出ます。気分・血圧・食事を数字キー 1〜3 で3回押すだけ（あとからはメニューの「見守り・今日の確認」、黄＝Y）。" +
						"3 の答えはすぐ、10時までに入力もテレビの電源オンもなければ、保健センターにフラグが立ち家族にメールが届きます（デモでは /demo/mailbox で見られます）。" +
						"保健センターの職員 赤松 さち（職員カード）が /watch/nambu/office/ で様子を見て、対応を記録します。" +
						"登下校メール：南部 翔さんのカードを小学校（/gatekiosk/school-nambu-1/）か図書館（/gatekiosk/library-nambu-1/）の入口のリーダーにかざすと（暗証番号なし）、保護者（祖母の法勝寺 トメさん）にメールが届き、" +
						"トメさんのテレビのメニュー（青＝B）の「子どもの入退室」（その数字キー）で記録が見られます。学校の 手間山 洋子、図書館の 緑水 湖太郎（職員カード）はそれぞれ自分のところの記録だけを見ます。",
					DescEN: "Elderly people place the card on the STB every day and enter how they feel, for the town's nurses to watch over them; " +
						"a pupil's touch at the school gate sends the parents an e-mail. " +
						"Watch-over: log in at the Chukai STB (tv-nambu-1) with 法勝寺 トメ's card and the day's check comes at once: feeling, blood pressure and meals, one number key 1–3 each (later, \"Daily check\" on the menu, yellow = Y). " +
						"An answer 3 at once, or no answer and no TV power-on by 10:00, raises a flag at the health centre and mails the family (the demo's mails are at /demo/mailbox). " +
						"The centre's 赤松 さち (staff card) sees everyone at /watch/nambu/office/ and records the handling. " +
						"Check-in mail: hold 南部 翔's card to the school's (/gatekiosk/school-nambu-1/) or the library's (/gatekiosk/library-nambu-1/) reader (no PIN); his guardian (his grandmother 法勝寺 トメ) gets a mail " +
						"and sees the history on her TV: \"My child's check-ins\" on the menu (blue = B), by its number key. The school's 手間山 洋子 and the library's 緑水 湖太郎 (staff cards) each see their own body's records only.",
					Status:    web.PartlyBuilt,
					MissingJA: "子どもと保護者を登録する職員のページ（デモでは登録済み）。",
					MissingEN: "Staff pages to register children and link their parents (the demo has them registered).",
					Cards:     []web.HomeCard{homeCard("法勝寺　トメ", "", ""), homeCard("南部　翔", "", "")},
					Paths: []string{tvPath("tv-nambu-1"), "/watch/nambu/office/", "/demo/mailbox", "/gatekiosk/school-nambu-1/", "/gatekiosk/library-nambu-1/",
						"/gate/nambu-school/office/", "/gate/nambu-library/office/"}},
				{ID: SectionPilot3, TitleJA: "③ 美波町：テレビでの避難指示と避難所の受付", TitleEN: "③ Minami: evacuation orders on the TV and shelter check-in",
					DescJA: "テレビに名前入りの避難指示を出し、避難所ではカードで入所・退所を記録して、町が避難の状況をつかむ先行事例。" +
						"ケーブルテレビ美波のSTBで日和佐 正さんのカードでログインしておくと、町が出した避難指示が画面を読み込み直さずに重なって出ます（名前と最寄りの開設中の避難所、赤＝R で「確認しました」が町に記録されます）。避難指示は危機管理室の職員（浜崎 恵子、暗証番号 8950）が職員カードで /evac/minami/office/ から出し、地区・世帯ごとの避難状況と訓練の報告がその場で更新されます。避難所（日和佐小学校）の端末 /shelter/shelter-minami-1/ ではカードと暗証番号で入所・退所を受け付けます。",
					DescEN: "An earlier pilot: evacuation orders with the person's name on the TV, and shelter arrivals and departures recorded with the card. " +
						"Log in at the Minami cable STB with 日和佐 正's card: an evacuation order the town issues appears over the screen without a reload (his name, the nearest open shelter; red = R acknowledges it, recorded by the town). The disaster office's officer (浜崎 恵子, PIN 8950) issues orders with her staff card at /evac/minami/office/, where the board per area and household and the drill report update live. At the shelter's terminal /shelter/shelter-minami-1/ (日和佐小学校) people check in and out with the card and the PIN.",
					Status:    web.PartlyBuilt,
					MissingJA: "避難所の端末での氏名による受付（いまは危機管理室のページで）と、タブレット用の画面（いまは職員のページ）。",
					MissingEN: "Check-in by name at the shelter's own terminal (it is on the disaster office's page for now), and a tablet screen (the board is a staff page).",
					Cards:     []web.HomeCard{homeCard("日和佐　正", "", "")},
					Paths:     []string{tvPath("tv-minami-1"), "/evac/minami/office/", "/shelter/shelter-minami-1/"}},
			}},
		{ID: SectionPostbox, TitleJA: "(4) 電子私書箱のワンストップサービス ― ⑤ 引越しの一括通知", TitleEN: "(4) One-stop services through the electronic post box — ⑤ the moving notice",
			DescJA: "事業者が発行した証明書を私書箱で受け取り、自分の申告に添えて役所へ一度に送ります。受け取る側は、改ざんがなく作成者本人のものであること、" +
				"作成の権限（電子委任状）があることを確かめます。住所が変わると私書箱が気づき、同意した事業者へまとめて通知します。",
			DescEN: "Receive a certificate a business issued, and send it with your own application to an agency in one step; the receiver " +
				"checks that it is unaltered, whose it is, and that its author was empowered (電子委任状). After a move, the post box notices " +
				"and tells the businesses you consented to.",
			Status: web.Built,
			Cards: []web.HomeCard{homeCard("酒田　一郎", "受け取り・申告・引越しの通知", "receive, apply, move"),
				homeCard(Employee, "日本生命の担当者：証明書を発行", "Nippon Life's employee: issues certificates")},
			Paths: []string{"/postbox/", termPath(PostboxTerminal.ID), "/agency/", "/business/"}},
		{ID: SectionProcurement, TitleJA: "(5) 政府調達のワンストップサービス", TitleEN: "(5) One-stop government procurement",
			DescJA: "法人の代表者から委任を受けた人が、窓口にも紙にも頼らずに、法人番号とカードで電子申請・電子契約をする仕組み。" +
				"まず /desk/（会社の委任状デスク）で、須坂テックの代表者 須坂 花子 がカードでログイン →「確認する」（署名用パスワード）→ " +
				"受任者に 須坂 健太（プラットフォームIDは /demo の表）と委任事項・有効期間を入れて「署名して発行」。発行した委任状は一覧で状態を見て、失効させられます。" +
				"入札は /procure/agent/tenders：須坂 健太 がカードでログインすると、関東地方整備局と須坂市の公告中の案件（締切は3日後）が開札用証明書の指紋とともに見えます。" +
				"「入札する」→ 須坂テックを選んで金額を入れ、署名用パスワードで「署名して入札する」。入札書はこの端末で署名・暗号化され、発注機関の受領証を検証して一覧に残します（締切までは入札し直すと差し替え）。" +
				"締切後、各機関の契約担当官2人が /demo の職員カードと開札パスフレーズで開札します。" +
				"落札すると、担当職員が作成した契約書に /procure/agent/contracts で須坂 健太がカードで署名し、担当職員が職員カードで署名・検査した後に、受領と請求を署名して記録します。履歴ファイルは mynaplat verify で検証できます。",
			DescEN: "Someone empowered by a company's representative applies and signs contracts electronically, with the corporate number and the card. " +
				"Start at /desk/ (the company desk): Suzaka Tech's representative 須坂 花子 logs in with her card → Confirm (signing password) → " +
				"enter 須坂 健太 as the agent (his platform ID is in /demo's table), the matters and the period → Sign and grant. The list shows each power's status and can revoke it. " +
				"Bids are at /procure/agent/tenders: 須坂 健太 logs in with his card and sees the open tenders of 関東地方整備局 and 須坂市 (deadline in three days) with their opening certificates' fingerprints. " +
				"Bid → pick Suzaka Tech, enter the price, Sign and bid with the signing password. The bid is signed and sealed on this terminal; the body's receipt is verified and listed (bidding again before the deadline replaces it). " +
				"After the deadline two contracting officers of the body open it with the staff cards and opening passphrases on /demo. " +
				"Once his company has won, 須坂 健太 signs the contract an officer prepared at /procure/agent/contracts with his card; after the officer's signature and inspection (staff card) he records the acceptance and the invoice, each signed; the timeline file passes mynaplat verify.",
			Status:    web.PartlyBuilt,
			MissingJA: "デモには落札済みの案件がありません：契約まで試すには、締切が数分後の案件を公告し、入札して、締切後に開札します。",
			MissingEN: "The demo has no awarded tender: to reach the contract, publish a tender due in a few minutes, bid, and open it after the deadline.",
			Cards: []web.HomeCard{homeCard(SuzakaTech.Representative, "須坂テックの代表者：委任状を発行", "Suzaka Tech's representative: grants powers"),
				homeCard(ProcureAgent, "代理人（受任者）", "the agent")},
			Paths: []string{"/desk/", termPath(DeskTerminal.ID), "/procure/agent/tenders", "/procure/agent/contracts", "/corpreg/", "/delegation/"}},
		{ID: SectionPilot4, TitleJA: "④ 前橋市：電子母子健康手帳", TitleEN: "④ Maebashi: the electronic maternal–child handbook",
			DescJA:    "予防接種や健診の記録をまとめた母子健康手帳を、カードでログインして見る先行事例。医療機関の間で検査画像も共有しました。",
			DescEN:    "An earlier pilot: a maternal–child handbook with vaccinations and check-ups, opened with the card; clinics also shared images.",
			Status:    web.NotBuilt,
			MissingJA: "母子健康手帳そのもの（記録、予防接種、健診、画像の共有）。タブレットでのログインまでは試せます。",
			MissingEN: "The handbook itself (records, vaccinations, check-ups, shared images). The login at the tablet can be tried.",
			Cards:     []web.HomeCard{homeCard("前橋　美咲", "", ""), homeCard("前橋　蓮", "", "")},
			Paths:     []string{termPath("mobile-maebashi-1")}},
		{ID: SectionBase, TitleJA: "基盤：公的個人認証と共通プラットフォーム", TitleEN: "The base: JPKI and the common platform",
			DescJA: "どのサービスも使う土台です。市区町村窓口でのカードの発行・更新・住所変更・失効、失効リスト、カードの中身、" +
				"いつ・どこで本人確認されたかの履歴。端末でのログインそのものは須坂市役所のキオスク端末で試せます。",
			DescEN: "What every service stands on: cards issued, renewed, moved and revoked at the municipal counter, revocation lists, " +
				"what is on a card, and the record of who checked you. The login itself can be tried at the kiosk in Suzaka city hall.",
			Status: web.Built,
			Cards: []web.HomeCard{homeCard("須坂　花子", "", ""),
				homeCard("須坂　陽菜", "15歳未満：署名用証明書なし", "under 15: no signing certificate"),
				homeCard("本間　光", "暗証番号ロック", "PIN blocked"),
				homeCard("鳥海　誠", "紛失で失効", "revoked: card lost"),
				homeCard("飛島　悟", "有効期限切れ", "certificates expired")},
			Paths: []string{"/t/", "/me/", "/counter/", "/cards/", "/jpki/", "/pki/"}},
	}
	if !world {
		for i := range sections {
			strip(&sections[i])
		}
		return sections
	}
	for i := range sections {
		if sections[i].ID == SectionProcurement {
			sections[i].Links = []web.Link{{Path: "/corpreg/v1/corporations/" + Nissay.Number,
				TitleJA: "法人の登記：" + Nissay.NameJA, TitleEN: "Corporate registry: " + Nissay.NameEN,
				DescJA: "法人番号で引く公開情報（JSON）：代表者と本店所在地", DescEN: "The public record by corporate number (JSON): representatives and head office"}}
		}
	}
	return sections
}

// strip removes the demo cards from a section and its parts.
func strip(s *web.HomeSection) {
	s.Cards = nil
	for i := range s.Sub {
		strip(&s.Sub[i])
	}
}

// termPath is the page of a terminal under /t/.
func termPath(id string) string { return "/t/" + id + "/" }

// tvPath is the TV portal's power-on page of TV terminal id (community/tv).
func tvPath(id string) string { return "/tv/" + id + "/" }

// homeCard is a demo resident's card as the home page shows it; the PINs
// come from people.Residents, so they cannot drift from the cards.
func homeCard(name, noteJA, noteEN string) web.HomeCard {
	r := residentNamed(name)
	return web.HomeCard{Name: name, PIN: r.AuthPIN, SignPIN: r.SignPIN, NoteJA: noteJA, NoteEN: noteEN}
}

// Place is a terminal of the demo world and the page it is at.
type Place struct {
	platform.Terminal
	Path string
}

// Places are every terminal of the demo world with its page: the pilots'
// terminals and the post box's under /t/, the convenience-store kiosks under
// /kiosk/, the hospital's stations under /reception/, the phone of /pay/.
func Places() []Place {
	var out []Place
	for _, t := range append(append([]platform.Terminal{}, Terminals...), PostboxTerminal, DeskTerminal) {
		out = append(out, Place{t, termPath(t.ID)})
	}
	for _, t := range Kiosks {
		out = append(out, Place{t, "/kiosk/" + t.ID + "/"})
	}
	for _, t := range Stations {
		out = append(out, Place{t, "/reception/" + t.ID + "/"})
	}
	return append(out, Place{PayTerminal, "/pay/"})
}

// HasWorld reports whether the demo world's cards are in the store.
func HasWorld(cards *card.Store) bool {
	infos, err := cards.List()
	return err == nil && slices.ContainsFunc(infos, func(in card.Info) bool { return in.Demo })
}

// Use is a home page section a demo card is used in, for /demo.
type Use struct {
	ID, TitleJA, TitleEN string
}

// Uses are, by holder, the home page sections that name the card, in page
// order (each section once).
func Uses() map[string][]Use {
	out := map[string][]Use{}
	var walk func(s web.HomeSection)
	walk = func(s web.HomeSection) {
		var names []string
		for _, c := range s.Cards {
			names = append(names, c.Name)
		}
		for _, st := range s.Steps {
			if st.Card != nil {
				names = append(names, st.Card.Name)
			}
		}
		u := Use{s.ID, s.TitleJA, s.TitleEN}
		for _, n := range names {
			if !slices.Contains(out[n], u) {
				out[n] = append(out[n], u)
			}
		}
		for _, sub := range s.Sub {
			walk(sub)
		}
	}
	for _, s := range Guide(true) {
		walk(s)
	}
	return out
}

// placeRow is a terminal on /demo: where it is, what kind, and its page.
type placeRow struct {
	Place
	KindJA, KindEN string
}

// placeRows are Places with their kinds' names.
func placeRows() []placeRow {
	var out []placeRow
	for _, p := range Places() {
		ja, en := terminal.KindName(p.Kind)
		out = append(out, placeRow{p, ja, en})
	}
	return out
}
