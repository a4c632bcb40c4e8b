// Package card is mynaplat's My Number Card: an emulator of the card's JPKI
// application (公的個人認証AP), text application (券面事項入力補助AP) and visual
// application (券面事項確認AP, with the issuer's signed records and
// card-verifiable certificates; docs/card-emulation.md), the
// store that keeps each emulated card's persistent state, the municipal
// counter's personalisation operations, and a driver (Client) that talks to
// any such card, emulated or real, only through APDUs.
//
// The APDU behaviour follows ISO/IEC 7816-4 (§5.1 command structure, §7.1
// SELECT, §7.2 READ BINARY, §7.5 VERIFY and CHANGE REFERENCE DATA, §5.6 status
// words) as profiled by JICSAP for the JPKI AP, byte for byte as described in
// docs/jpki-card.md §1–§7 and §11: what Debian's OpenSC 0.23 (driver "jpki"),
// jpki/myna and similar clients send and expect. The vpcd client (ServeVPCD)
// implements the vsmartcard-vpcd socket protocol of jpki-card.md §9, so the
// emulator can be plugged into pcscd as "Virtual PCD 00 00".
//
// Private keys are generated inside the card (GenerateKey) and never leave it
// except in the card's own state file, which is the emulator's "chip memory".
package card
