#!/usr/bin/env bash
# Prepares Wine for running the Windows test binaries on Linux (DESIGN §8):
#
#   1. installs Debian's wine64 and gcc-mingw-w64-x86-64-win32 if missing;
#   2. builds bcryptprimitives.dll (testing/wine/processprng): Go >= 1.22
#      needs ProcessPrng, which Wine 8.0 lacks;
#   3. creates the Wine prefix ($WINEPREFIX, default ~/.cache/hnslb-wine)
#      and puts the DLL in its drive_c/windows/system32/.
#
# Idempotent: a second run does nothing and prints nothing. Prints one line
# per step it had to take, on stderr. Then:
#
#   GOOS=windows go test -exec "$PWD/.ci/wine-exec.sh" ./...
#   .ci/wine-exec.sh --shutdown     # stop the prefix's wineserver
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=wine-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/wine-env.sh"

say() { echo "wine-setup: $*" >&2; }
die() {
	say "$*"
	exit 1
}

MINGW_CC=x86_64-w64-mingw32-gcc
SHIM_DIR="$HNSLB_ROOT/testing/wine/processprng"

# run_quiet runs a command with its output in a log, shown only on failure.
run_quiet() {
	local log rc=0
	log=$(mktemp)
	"$@" >"$log" 2>&1 || rc=$?
	if [[ $rc -ne 0 ]]; then
		say "failed ($rc): $*"
		tail -n 40 "$log" >&2
	fi
	rm -f "$log"
	return "$rc"
}

install_packages() {
	local pkgs=()
	hnslb_find_wine || pkgs+=(wine64)
	command -v "$MINGW_CC" >/dev/null 2>&1 || pkgs+=(gcc-mingw-w64-x86-64-win32)
	[[ ${#pkgs[@]} -eq 0 ]] && return 0
	local sudo=()
	if [[ $(id -u) -ne 0 ]]; then
		command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to install: ${pkgs[*]}"
		sudo=(sudo)
	fi
	say "installing ${pkgs[*]}"
	export DEBIAN_FRONTEND=noninteractive
	run_quiet "${sudo[@]}" apt-get update -q || die "apt-get update failed"
	run_quiet "${sudo[@]}" apt-get install -y -q --no-install-recommends "${pkgs[@]}" ||
		die "apt-get install ${pkgs[*]} failed"
	hnslb_find_wine || die "wine64 installed, but its loader was not found (set HNSLB_WINE64)"
	command -v "$MINGW_CC" >/dev/null 2>&1 || die "$MINGW_CC not found after install"
}

# build_shim builds bcryptprimitives.dll into $1.
build_shim() {
	"$MINGW_CC" -shared -O2 -s -Wall -Werror -Wl,--no-insert-timestamp,--disable-auto-image-base \
		-o "$1" "$SHIM_DIR/processprng.c" "$SHIM_DIR/processprng.def" -ladvapi32
}

create_prefix() {
	[[ -f $HNSLB_WINE_STAMP ]] && return 0
	say "creating Wine prefix $WINEPREFIX"
	run_quiet "$WINE64" wineboot --init || die "wineboot failed"
	run_quiet "$WINESERVER" -w || true
	[[ -d $WINEPREFIX/drive_c/windows/system32 ]] || die "wineboot made no $WINEPREFIX/drive_c/windows/system32"
}

install_shim() {
	local tmp dst="$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"
	tmp=$(mktemp -d)
	# shellcheck disable=SC2064
	trap "rm -rf '$tmp'" RETURN
	build_shim "$tmp/bcryptprimitives.dll" || die "building bcryptprimitives.dll failed"
	if ! cmp -s "$tmp/bcryptprimitives.dll" "$dst"; then
		say "installing bcryptprimitives.dll (ProcessPrng) into the prefix"
		install -m 0644 "$tmp/bcryptprimitives.dll" "$dst"
	fi
}

# One set-up at a time: go test runs several test binaries at once, and
# each .ci/wine-exec.sh may call this script.
mkdir -p "$(dirname "$WINEPREFIX")"
exec 9>"$WINEPREFIX.lock"
flock 9

install_packages
hnslb_find_wine || die "wine64 not found"
create_prefix
install_shim
if [[ ! -f $HNSLB_WINE_STAMP ]]; then
	"$WINE64" --version >"$HNSLB_WINE_STAMP" 2>/dev/null || echo unknown >"$HNSLB_WINE_STAMP"
	say "ready: WINEPREFIX=$WINEPREFIX ($(cat "$HNSLB_WINE_STAMP"), loader $WINE64)"
fi
