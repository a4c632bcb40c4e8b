#!/usr/bin/env bash
# Makes the font subsets that package jpfont embeds (internal/jpfont/fonts):
# BIZ UD Mincho and BIZ UD Gothic (SIL Open Font License 1.1, from Debian's
# fonts-morisawa-bizud-* packages) cut down to the characters a certificate
# can hold, so that rendering needs no installed fonts. Run it only to change
# the character set; the output is committed. Needs (Debian): apt-get,
# python3-fonttools, gzip.
set -euo pipefail
cd "$(dirname "$0")/.."
out=internal/jpfont/fonts
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work" # apt-get download runs as _apt

(cd "$work" && apt-get download -q fonts-morisawa-bizud-mincho fonts-morisawa-bizud-gothic >/dev/null)
for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$work/x"; done
fonts="$work/x/usr/share/fonts/truetype"

# The character set: ASCII, JIS X 0208 (both levels of kanji, kana, symbols)
# and the NEC and IBM extensions of Windows-31J (①, Ⅱ, ㈱, 髙, 﨑 …, common
# in names and addresses), and the few code points that converters map the
# same JIS characters to (－ ～ ∥ ￠ ￡ ￢ − 〜 ‖).
/usr/bin/python3 - "$work/chars.txt" <<'PY'
import sys
chars = {chr(c) for c in range(0x20, 0x7f)}
for lead in list(range(0x81, 0xa0)) + list(range(0xe0, 0xfd)):
    for trail in list(range(0x40, 0x7f)) + list(range(0x80, 0xfd)):
        try:
            chars.add(bytes([lead, trail]).decode("cp932"))
        except UnicodeDecodeError:
            pass
for row in range(0xa1, 0xff):
    for cell in range(0xa1, 0xff):
        try:
            chars.add(bytes([row, cell]).decode("euc_jp"))
        except UnicodeDecodeError:
            pass
chars |= set("－～∥￠￡￢−〜‖")
open(sys.argv[1], "w", encoding="utf-8").write("".join(sorted(chars)))
PY

for name in bizud-mincho/BIZUDMincho-Regular bizud-gothic/BIZUDGothic-Regular; do
	base=$(basename "$name")
	/usr/bin/python3 -m fontTools.subset "$fonts/$name.ttf" --text-file="$work/chars.txt" \
		--layout-features='' --no-hinting --drop-tables+=vhea,vmtx,meta,GSUB,GPOS \
		--output-file="$work/$base.ttf" 2>/dev/null
	# -n: no name or time in the header, so the same input gives the same bytes.
	gzip -9 -n -c "$work/$base.ttf" >"$out/$base.subset.ttf.gz"
done

# The licence, with both fonts' copyright lines, as the OFL asks.
{
	echo "BIZ UD Mincho: Copyright 2022 The BIZ UDMincho Project Authors (https://github.com/googlefonts/morisawa-biz-ud-mincho)"
	echo "BIZ UD Gothic: Copyright 2022 The BIZ UDGothic Project Authors (https://github.com/googlefonts/morisawa-biz-ud-gothic)"
	echo
	echo "The files here are subsets of BIZUDMincho-Regular.ttf and BIZUDGothic-Regular.ttf"
	echo "version 1.05 (made by scripts/subset-fonts.sh), licensed under the SIL Open Font License 1.1:"
	echo
	# The copyright file's last stanza is the licence text, indented by one
	# space with "." for empty lines.
	awk 'prev == "" && $0 == "License: SIL-1.1" { on = 1; prev = $0; next } on; { prev = $0 }' \
		"$work/x/usr/share/doc/fonts-morisawa-bizud-mincho/copyright" | sed -e 's/^ //' -e 's/^\.$//'
} >"$out/OFL.txt"
ls -l "$out"
