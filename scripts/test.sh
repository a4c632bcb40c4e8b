#!/usr/bin/env bash
# Runs mynaplat's whole test suite: go vet, then go test with the pcsc build
# tag, so the PC/SC transport and the tests against Debian's pcscd, vpcd,
# OpenSC and openssl run too. Those need Debian packages; as root this script
# installs them, otherwise it says which to install. Tests whose outside
# program is missing skip, except under CI=true, where they fail.
# PostgreSQL: set MYNAPLAT_TEST_PG=postgres://… to run every store test on it
# as well (.ci/run does).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(pcscd vsmartcard-vpcd opensc pcsc-tools libpcsclite-dev pkg-config openssl chromium fonts-noto-cjk poppler-utils)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "test.sh: installing ${missing[*]}"
		apt-get -q update >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q "${missing[@]}" >/dev/null
	else
		echo "test.sh: the card tests need these Debian packages: ${missing[*]}" >&2
		echo "test.sh: install them with: sudo apt-get install ${missing[*]}" >&2
		echo "test.sh: until then those tests skip (under CI=true they fail)" >&2
	fi
fi

tags=()
if pkg-config --exists libpcsclite 2>/dev/null; then
	tags=(-tags pcsc)
elif [ "${CI:-}" = true ]; then
	echo "test.sh: libpcsclite-dev is missing: required under CI=true" >&2
	exit 1
else
	echo "test.sh: libpcsclite-dev missing: building without the pcsc tag (PC/SC transport tests not built)" >&2
fi

go vet "${tags[@]}" ./...
go test "${tags[@]}" -count=1 -timeout 20m ./...
