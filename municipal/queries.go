package municipal

// The package's SQL, written once in the PostgreSQL dialect ($N, RETURNING,
// ON CONFLICT) for both engines (see package store).
const (
	qInsertMunicipality = `INSERT INTO muni_municipalities (code, prefecture, name, created_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (code) DO NOTHING`
	qInsertCounter  = `INSERT INTO muni_counters (code, n) VALUES ($1, 0) ON CONFLICT (code) DO NOTHING`
	qMunicipality   = `SELECT prefecture, name FROM muni_municipalities WHERE code = $1`
	qMunicipalities = `SELECT code, prefecture, name FROM muni_municipalities ORDER BY code`
	qInsertKey      = `INSERT INTO muni_keys (key_hash, code, kind, label, created_at) VALUES ($1, $2, $3, $4, $5)`
	qKey            = `SELECT code, kind, label FROM muni_keys WHERE key_hash = $1`
	qInsertAudit    = `INSERT INTO muni_audit (code, at_ms, actor, office, staff_number, action, person_id, detail, trace_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
	auditColumns    = `at_ms, actor, office, staff_number, action, person_id, detail`
	qAudit          = `SELECT ` + auditColumns + ` FROM muni_audit WHERE code = $1 ORDER BY at_ms DESC, id DESC LIMIT $2`
	// qPersonAudit is one person's rows, for their own history.
	qPersonAudit = `SELECT ` + auditColumns + ` FROM muni_audit WHERE code = $1 AND person_id = $2 ORDER BY at_ms DESC, id DESC LIMIT $3`

	qUpsertOffer = `INSERT INTO muni_offers (code, cert_type, fee_yen, open_min, close_min, weekdays_only, all_year) VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (code, cert_type) DO UPDATE SET fee_yen = excluded.fee_yen, open_min = excluded.open_min,
close_min = excluded.close_min, weekdays_only = excluded.weekdays_only, all_year = excluded.all_year`
	qOffers = `SELECT cert_type, fee_yen, open_min, close_min, weekdays_only, all_year FROM muni_offers WHERE code = $1 ORDER BY cert_type`
	qOffer  = `SELECT fee_yen, open_min, close_min, weekdays_only, all_year FROM muni_offers WHERE code = $1 AND cert_type = $2`

	qInsertHousehold = `INSERT INTO muni_households (id, code, head_id) VALUES ($1, $2, $3)`
	qHousehold       = `SELECT code FROM muni_households WHERE id = $1`
	qInsertPerson    = `INSERT INTO muni_persons (id, code, household_id, relation, name, kana, birth_date, sex, address, my_number,
honseki, hitto, moved_in, status, support, gaiji_pending, name_norm, address_norm, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`
	personColumns = `id, code, household_id, relation, name, kana, birth_date, sex, address, my_number,
honseki, hitto, moved_in, status, support, gaiji_pending`
	qPerson        = `SELECT ` + personColumns + ` FROM muni_persons WHERE code = $1 AND id = $2`
	qHouseholdOf   = `SELECT ` + personColumns + ` FROM muni_persons WHERE household_id = $1 ORDER BY birth_date, id`
	qPersonsOf     = `SELECT ` + personColumns + ` FROM muni_persons WHERE code = $1 ORDER BY kana, id LIMIT $2`
	qHouseholdHead = `SELECT head_id FROM muni_households WHERE id = $1`
	qUpdatePerson  = `UPDATE muni_persons SET address = $1, address_norm = $2, status = $3, support = $4, updated_at = $5 WHERE code = $6 AND id = $7`
	qFindResident  = `SELECT id FROM muni_persons WHERE code = $1 AND birth_date = $2 AND sex = $3 AND name_norm = $4 AND address_norm = $5`
	qInsertSeal    = `INSERT INTO muni_seals (code, person_id, reg_number, image, registered_on) VALUES ($1, $2, $3, $4, $5)`
	qSeal          = `SELECT reg_number, image, registered_on FROM muni_seals WHERE code = $1 AND person_id = $2`
	qInsertKoseki  = `INSERT INTO muni_koseki (id, code, honseki, hitto, made_on) VALUES ($1, $2, $3, $4, $5)`
	qInsertMember  = `INSERT INTO muni_koseki_members (koseki_id, seq, person_id, name, birth_date, sex, relation, father, mother, events, removed, name_norm)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`
	qKosekiOfMember = `SELECT k.id, k.honseki, k.hitto, k.made_on FROM muni_koseki k JOIN muni_koseki_members m ON m.koseki_id = k.id
WHERE k.code = $1 AND m.person_id = $2`
	qKosekiMembers = `SELECT person_id, name, birth_date, sex, relation, father, mother, events, removed FROM muni_koseki_members WHERE koseki_id = $1 ORDER BY seq`
	qFindMember    = `SELECT m.person_id FROM muni_koseki_members m JOIN muni_koseki k ON k.id = m.koseki_id WHERE k.code = $1 AND m.birth_date = $2 AND m.sex = $3 AND m.name_norm = $4`
	// Candidates for a registration's comparison: a member who shares the
	// name or the birth date.
	qMemberCandidates = `SELECT m.person_id, m.name, m.name_norm, m.birth_date, m.sex FROM muni_koseki_members m JOIN muni_koseki k ON k.id = m.koseki_id
WHERE k.code = $1 AND m.removed = 0 AND (m.name_norm = $2 OR m.birth_date = $3) ORDER BY k.id, m.seq`
	qInsertFuhyo = `INSERT INTO muni_fuhyo (person_id, seq, address, since) VALUES ($1, $2, $3, $4)`
	qFuhyo       = `SELECT address, since FROM muni_fuhyo WHERE person_id = $1 ORDER BY seq`
	qUpsertTax   = `INSERT INTO muni_tax (person_id, year, income_yen, taxable_yen, city_tax_yen, pref_tax_yen) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (person_id, year) DO UPDATE SET income_yen = excluded.income_yen, taxable_yen = excluded.taxable_yen,
city_tax_yen = excluded.city_tax_yen, pref_tax_yen = excluded.pref_tax_yen`
	qTax       = `SELECT year, income_yen, taxable_yen, city_tax_yen, pref_tax_yen FROM muni_tax WHERE person_id = $1 AND year = $2`
	qTaxLatest = `SELECT year, income_yen, taxable_yen, city_tax_yen, pref_tax_yen FROM muni_tax WHERE person_id = $1 ORDER BY year DESC LIMIT 1`

	qNextNumber        = `UPDATE muni_counters SET n = n + 1 WHERE code = $1 RETURNING n`
	qInsertCertificate = `INSERT INTO muni_certificates (code, number, cert_type, person_id, pages, fee_yen, copies, sha256, issued_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
	qCertificate = `SELECT cert_type, person_id, pages, fee_yen, copies, sha256, issued_at FROM muni_certificates WHERE code = $1 AND number = $2`
)
