// Package eligibility is online eligibility checking (オンライン資格確認) with the
// My Number Card, the 酒田市 pilot of the 2015 overview: insurers keep their
// insured persons' coverage (保険者番号, 記号・番号・枝番, 負担割合, 資格取得日
// and 喪失日, 高齢受給者, 限度額適用区分, 特定疾病), and a facility's reception asks,
// for a card holder the platform has authenticated, whether the coverage is
// valid.
//
// An insured record is linked to a platform ID only when five attributes
// agree exactly — kanji name, kana name, birth date, sex and address — between
// the insurer's record and the person's JPKI record. Anything less, or more
// than one candidate, goes to a clerk's queue and is never linked by the
// machine: the 8,544 wrong-person links of the real system (2023) came from
// matching on fewer attributes (see shared/docs/domain-research.md §1.6).
//
// This package is the server side: the insurer and facility APIs, the
// checks, the batch pre-check, the back-office and clinic pages and payment
// with the card. The terminals where the card is — the reception and
// home-visit stations (package reception) and the resident's payment
// enrolment page (package payenrol) — reach it through FacilityClient and
// the Links they are given; it imports neither the card nor the terminal
// kit (internal/archtest).
package eligibility
