// Package kiosk is the convenience-store multi-copy machine of コンビニ交付
// (the 2015 overview): a store's machine with a card reader (Station) whose
// touch screens (Pages) take the holder from the card and PIN through the
// J-LIS relay's menu to the printed certificate in the output tray, and file
// 本籍地 usage registrations. It is the terminal side only: the card and the
// PIN stay here, and the relay (package jlis) is reached through its typed
// client, jlis.Client, with the platform's assertion.
package kiosk
