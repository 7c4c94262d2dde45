#!/usr/bin/env bash
# Prepares Wine for running the Windows test binaries on Linux (internal/wine/README.md):
#
#   1. installs Debian's wine64 and gcc-mingw-w64-x86-64-win32 if missing;
#   2. builds the DLLs with mingw: bcryptprimitives.dll
#      (internal/wine/processprng: Go >= 1.22 needs ProcessPrng, which Wine
#      8.0 lacks) and the stand-in HNS, computenetwork.dll and vmcompute.dll
#      (internal/wine/hnsstub/dll);
#   3. creates the Wine prefix ($WINEPREFIX, default ~/.cache/hnslb-wine)
#      and puts the DLLs in its drive_c/windows/system32/, where Go and hcn
#      load them from. The stand-in HNS is disabled unless HNSLB_HNSSTUB=1
#      (.ci/wine-env.sh).
#
# Idempotent: a second run does nothing and prints nothing; the DLLs are
# rebuilt when their sources, this script or the compiler change. Prints
# one line per step it had to take, on stderr. Then:
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
# shellcheck disable=SC2054 # the commas belong to -Wl
MINGW_FLAGS=(-shared -O2 -s -Wall -Werror -Wl,--no-insert-timestamp,--disable-auto-image-base)
SHIM_DIR="$HNSLB_ROOT/internal/wine/processprng"
STUB_DIR="$HNSLB_ROOT/internal/wine/hnsstub/dll"
SYSTEM32="$WINEPREFIX/drive_c/windows/system32"
DLLS=(bcryptprimitives.dll computenetwork.dll vmcompute.dll)

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

# build_dlls builds the DLLs into directory $1.
build_dlls() {
	"$MINGW_CC" "${MINGW_FLAGS[@]}" -o "$1/bcryptprimitives.dll" \
		"$SHIM_DIR/processprng.c" "$SHIM_DIR/processprng.def" -ladvapi32 &&
		"$MINGW_CC" "${MINGW_FLAGS[@]}" -Wextra -o "$1/computenetwork.dll" \
			"$STUB_DIR/computenetwork.c" "$STUB_DIR/hnsstub.c" "$STUB_DIR/computenetwork.def" -lws2_32 -lole32 &&
		"$MINGW_CC" "${MINGW_FLAGS[@]}" -Wextra -o "$1/vmcompute.dll" \
			"$STUB_DIR/vmcompute.c" "$STUB_DIR/hnsstub.c" "$STUB_DIR/vmcompute.def" -lws2_32 -lole32
}

# dll_fingerprint identifies what build_dlls would build.
dll_fingerprint() {
	{
		"$MINGW_CC" --version | head -n1
		cat "${BASH_SOURCE[0]}" "$SHIM_DIR"/* "$STUB_DIR"/*
	} | sha256sum | cut -d' ' -f1
}

create_prefix() {
	[[ -f $HNSLB_WINE_STAMP ]] && return 0
	say "creating Wine prefix $WINEPREFIX"
	run_quiet "$WINE64" wineboot --init || die "wineboot failed"
	run_quiet "$WINESERVER" -w || true
	[[ -d $WINEPREFIX/drive_c/windows/system32 ]] || die "wineboot made no $WINEPREFIX/drive_c/windows/system32"
}

# install_dlls builds the DLLs and installs those that changed, unless the
# installed ones were built from the same sources.
install_dlls() {
	local tmp dll fp all=1
	fp=$(dll_fingerprint)
	for dll in "${DLLS[@]}"; do
		[[ -f $SYSTEM32/$dll ]] || all=0
	done
	[[ $all == 1 && -f $HNSLB_DLL_STAMP && $(cat "$HNSLB_DLL_STAMP") == "$fp" ]] && return 0
	tmp=$(mktemp -d)
	# shellcheck disable=SC2064
	trap "rm -rf '$tmp'" RETURN
	run_quiet build_dlls "$tmp" || die "building the DLLs failed"
	for dll in "${DLLS[@]}"; do
		if ! cmp -s "$tmp/$dll" "$SYSTEM32/$dll"; then
			say "installing $dll into the prefix"
			install -m 0644 "$tmp/$dll" "$SYSTEM32/$dll"
		fi
	done
	echo "$fp" >"$HNSLB_DLL_STAMP"
}

# One set-up at a time: go test runs several test binaries at once, and
# each .ci/wine-exec.sh may call this script.
mkdir -p "$(dirname "$WINEPREFIX")"
exec 9>"$WINEPREFIX.lock"
flock 9

install_packages
hnslb_find_wine || die "wine64 not found"
create_prefix
install_dlls
if [[ ! -f $HNSLB_WINE_STAMP ]]; then
	"$WINE64" --version >"$HNSLB_WINE_STAMP" 2>/dev/null || echo unknown >"$HNSLB_WINE_STAMP"
	say "ready: WINEPREFIX=$WINEPREFIX ($(cat "$HNSLB_WINE_STAMP"), loader $WINE64)"
fi
