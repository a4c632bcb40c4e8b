// Package kiosk is the convenience-store certificate issuance of the 2015
// overview (コンビニ交付) on the relay side: the J-LIS 証明書交付センター that
// takes a kiosk's request for an authenticated card holder, finds the
// municipality that keeps the record (the 住所地 from the JPKI record, or the
// 本籍地 from a usage registration), has that municipality's issuance server
// render the certificate, and returns it to the kiosk; and the kiosk's print
// jobs; and the kiosks themselves (Station, Pages): a store's multi-copy
// machine with a card reader, whose touch screens take the holder from the
// card and PIN through the relay's menu to the printed certificate in the
// output tray, and file 本籍地 usage registrations.
//
// Print jobs are a state machine in the database — requested → rendered →
// printed, or cancelled — and every transition is one conditional UPDATE on
// the job's ID, its kiosk, its card holder and its state. That is what the
// real incidents lacked (shared/docs/domain-research.md §2.6): in Yokohama
// (2023) a timed-out wait released only the print-order lock, so the next
// applicant's request printed the previous one's certificate; in Takamatsu
// (2024) a single-server build on several servers crossed two requests.
// Here a job that passes its deadline is cancelled whole — a render that
// arrives later is discarded, and a print of it is refused — and nothing
// about a job lives in one process's memory.
package kiosk
