#!/usr/bin/env bash
# Fails when a file tracked by git is over 1 MB or is a compiled binary, and
# says which file and why. A binary committed once stays in the history (and
# in every clone) for ever, so CI stops it before it lands; build output
# belongs in .gitignore. Run it locally before committing, too:
#
#   scripts/check-tracked.sh
#
# It checks the index (what the next commit holds), not the work tree.
# Binaries are told by their first bytes: ELF, Mach-O, PE, WebAssembly, Java
# class files, ar archives (static libraries) and SQLite databases (a data/
# directory added by mistake). Images, PDFs and fonts are not refused: they
# can be test data or embedded assets, and the size limit still applies to
# them. A file with the executable bit must be a script (start with #!).
set -euo pipefail
cd "$(dirname "$0")/.."

limit=$((1024 * 1024))
# Large files that belong in the tree, one path each, with the reason.
allow_large=(
	# The certificate fonts the binary embeds (internal/jpfont): subsets,
	# gzipped; scripts/subset-fonts.sh makes them.
	internal/jpfont/fonts/BIZUDGothic-Regular.subset.ttf.gz
	internal/jpfont/fonts/BIZUDMincho-Regular.subset.ttf.gz
)

# head64 prints the first 64 bytes of a blob in hex (NUL bytes and all).
head64() {
	# od stops after 64 bytes; cat-file may then die of SIGPIPE, which is fine.
	(git cat-file blob "$1" 2>/dev/null || true) | od -An -v -tx1 -N64 | tr -d ' \n'
}

# magic prints what a file is when its first bytes (in hex) are a binary's.
magic() {
	local hex=$1
	case $hex in
	7f454c46*) echo "an ELF executable or object" ;;
	feedface* | feedfacf* | cefaedfe* | cffaedfe*) echo "a Mach-O executable" ;;
	cafebabe*) echo "a Mach-O universal binary or Java class file" ;;
	4d5a*) # MZ: a DOS/PE header has NUL bytes in its first 64; a text file starting "MZ" has none.
		if [[ $hex =~ ^(..)*00 ]]; then echo "a Windows (PE) executable"; fi ;;
	0061736d*) echo "a WebAssembly module" ;;
	213c617263683e0a*) echo "an ar archive (static library)" ;;
	53514c69746520666f726d6174203300*) echo "an SQLite database" ;;
	esac
}

failed=0
fail() {
	echo "check-tracked: $1: $2" >&2
	failed=1
}

# Text files, by git's own test (no NUL byte in the first 8000 bytes): each
# binary format above has one well before, so only the other files need a
# look at their first bytes. A process per file would take a minute on a busy machine.
declare -A text=()
while IFS= read -r -d '' path; do
	text[$path]=1
done < <(git -c core.quotePath=false grep --cached -I -l -z -e '')

# "SIZE OBJECT MODE PATH" for every file in the index, from two git processes.
while IFS=' ' read -r size obj mode path; do
	[[ $mode == 100644 || $mode == 100755 ]] || continue # symlinks, submodules
	if ((size > limit)) && ! [[ " ${allow_large[*]-} " == *" $path "* ]]; then
		fail "$path" "$size bytes, over the limit of $limit (1 MB); keep large data out of git"
	fi
	[[ -z ${text[$path]-} || $mode == 100755 ]] || continue
	hex=$(head64 "$obj")
	what=$(magic "$hex")
	if [[ -n $what ]]; then
		fail "$path" "is $what; generated files belong in .gitignore"
	elif [[ $mode == 100755 && $hex != 2321* ]]; then
		fail "$path" "has the executable bit but is not a script (no #! line)"
	fi
done < <(git -c core.quotePath=false ls-files -s |
	sed 's/^\([0-7]*\) \([0-9a-f]*\) [0-9]*\t/\2 \1 /' |
	git cat-file --batch-check='%(objectsize) %(objectname) %(rest)')

if ((failed)); then
	echo "check-tracked: remove them from the index (git rm --cached FILE) and ignore them in .gitignore;" >&2
	echo "check-tracked: a large file the program needs (an embedded asset) goes in allow_large in $0" >&2
	exit 1
fi
echo "check-tracked: $(git ls-files | wc -l) tracked files, none over 1 MB (but the ${#allow_large[@]} allowed), no binaries"
