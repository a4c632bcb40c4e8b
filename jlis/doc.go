// Package jlis is the J-LIS side of convenience-store certificate issuance
// (コンビニ交付) in the 2015 overview: the 証明書交付センター relay that takes a
// kiosk's request for an authenticated card holder, finds the municipality
// that keeps the record (the 住所地 from the JPKI record, or the 本籍地 from a
// usage registration), has that municipality's issuance server render the
// certificate, seals it (anti-forgery), and returns it to the kiosk; the
// kiosks' print jobs; 本籍地 usage registrations and the queue a 本籍地's clerk
// decides them from; and the typed clients of these APIs (Client for a kiosk,
// QueueClient for a municipality's back office). It is a server role: it
// never talks to a card — the kiosk terminals (package kiosk) do, and reach
// the relay only through Client.
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
//
// The package was split out of package kiosk; its migration namespace and
// table names are still "kiosk" (see Open), so existing databases carry on.
package jlis
