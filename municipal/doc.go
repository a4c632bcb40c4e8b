// Package municipal is the municipalities' side of convenience-store
// certificate issuance (コンビニ交付, shared/docs/domain-research.md §2): each
// municipality's registers — 住民基本台帳 (persons, households, 世帯主, 続柄,
// address, 本籍・筆頭者), 印鑑登録, 戸籍 (members and 身分事項), 戸籍の附票
// and 税 (所得・課税) — its catalogue (which certificates, fees, hours) and its
// issuance server (証明発行サーバ), an HTTP endpoint per municipality that
// renders the certificate as an A4 PDF with the mayor's (generated, clearly
// not real) seal, a certificate number, 和暦 dates and page numbers.
//
// The issuance server refuses what the real systems refuse by design: 支援措置
// holders, persons who filed 転出, deceased persons, 外字 still being
// registered, text longer than the layout allows (measured, never
// truncated), certificates the municipality does not offer, requests outside
// its hours, and 戸籍 certificates for someone whose 本籍 is elsewhere. A
// request names its certificate type once and that type is checked end to
// end, so a 住民票 request can never yield a 戸籍 (the Tokushima incident,
// §2.6).
//
// A person is keyed by the register's own ID, never by the My Number; the My
// Number is a register field printed only on request and never logged. The
// back office (/municipal/{code}/office/) lets staff view and edit a
// person's address, status and 支援措置 flag; every view and change leaves a
// muni_audit row naming the clerk, with their office and staff number in
// columns of their own. The resident reads those rows about themself
// through GET /municipal/v1/my-history with their card login (history.go),
// which /me/audit shows.
//
// The J-LIS relay, the kiosk, the PAdES signature and the QR code are other
// packages' work; the renderer takes their page decorations (a QR image with
// a text line, the 「複写」 ground pattern) through Decorations.
package municipal
