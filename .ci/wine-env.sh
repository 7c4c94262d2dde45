# shellcheck shell=bash
# Shared by .ci/wine-setup.sh and .ci/wine-exec.sh; sourced, never run.
#
# Reads HNSLB_HNSSTUB: 1 enables the stand-in HNS (computenetwork.dll and
# vmcompute.dll from internal/wine/hnsstub/dll, which wine-setup.sh installs
# in the prefix); anything else disables them, so that hcn finds no HNS.
#
# Sets:
#   HNSLB_ROOT    the repository root
#   WINEPREFIX    the Wine prefix: $WINEPREFIX if set, else $HOME/.cache/hnslb-wine
#   WINEDEBUG     -all unless set
#   WINEDLLOVERRIDES  no Mono/Gecko installers, no menus; our bcryptprimitives.dll first;
#                     the stand-in HNS DLLs disabled, or with HNSLB_HNSSTUB=1 enabled
#   HNSLB_WINE_STAMP  file written when the prefix is complete
#   HNSLB_DLL_STAMP   fingerprint of the sources of the DLLs installed in it
# Defines hnslb_find_wine, which sets WINE64 and WINESERVER (or returns 1),
# and hnslb_start_server, which starts the prefix's wineserver and Wine's
# services with their standard streams on /dev/null.

# shellcheck disable=SC2034 # used by the scripts that source this file
HNSLB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${HOME:=/root}"
: "${WINEPREFIX:=${XDG_CACHE_HOME:-$HOME/.cache}/hnslb-wine}"
: "${WINEDEBUG:=-all}"
# mscoree/mshtml disabled: wineboot would otherwise offer to download Mono
# and Gecko (no network here, and nothing needs them); winemenubuilder only
# writes desktop menus and slows wineboot. bcryptprimitives is ours
# (internal/wine/processprng), native first.
: "${WINEDLLOVERRIDES:=mscoree,mshtml=;winemenubuilder.exe=d;bcryptprimitives=n,b}"
# The stand-in HNS DLLs stay in the prefix; an empty load order makes Wine
# refuse to load them, which the loader reports as a missing module (0x7E),
# exactly as when they are absent: the no-HNS tests need that. With
# HNSLB_HNSSTUB=1 they load (native: Wine has no builtin of either name,
# and must not pick one if a later Wine adds a stub).
if [[ ${HNSLB_HNSSTUB:-} == 1 ]]; then
	WINEDLLOVERRIDES="$WINEDLLOVERRIDES;computenetwork,vmcompute=n"
else
	WINEDLLOVERRIDES="$WINEDLLOVERRIDES;computenetwork,vmcompute="
fi
export WINEPREFIX WINEDEBUG WINEDLLOVERRIDES
# Go builds windows/amd64 test binaries: a 64-bit prefix.
export WINEARCH=win64
# shellcheck disable=SC2034
HNSLB_WINE_STAMP="$WINEPREFIX/.hnslb-ready"
# shellcheck disable=SC2034
HNSLB_DLL_STAMP="$WINEPREFIX/.hnslb-dlls"

# hnslb_find_wine sets WINE64 (the 64-bit loader) and WINESERVER. Debian's
# wine64 package keeps its loader in Wine's lib directory, not on PATH.
hnslb_find_wine() {
	WINE64=""
	WINESERVER=""
	local c
	for c in "${HNSLB_WINE64:-}" "$(command -v wine64 2>/dev/null || true)" \
		/usr/lib/wine/wine64 /usr/lib64/wine/wine64 \
		/usr/lib/x86_64-linux-gnu/wine/wine64 /opt/wine-stable/bin/wine64; do
		if [[ -n $c && -x $c ]]; then
			WINE64=$c
			break
		fi
	done
	if [[ -z $WINE64 ]] && command -v dpkg >/dev/null 2>&1; then
		c=$(dpkg -L wine64 2>/dev/null | grep -m1 -E '/wine64$' || true)
		[[ -n $c && -x $c ]] && WINE64=$c
	fi
	[[ -n $WINE64 ]] || return 1
	local dir
	dir=$(dirname "$WINE64")
	for c in "$dir/wineserver64" "$dir/wineserver" \
		"$(command -v wineserver 2>/dev/null || true)"; do
		if [[ -n $c && -x $c ]]; then
			WINESERVER=$c
			break
		fi
	done
	[[ -n $WINESERVER ]] || return 1
	export WINE64 WINESERVER
}

# hnslb_start_server makes sure the prefix's wineserver runs, persistent
# (until .ci/wine-exec.sh --shutdown), and Wine's services with it
# (wineboot, services.exe, winedevice.exe, plugplay.exe, svchost.exe), all
# with every standard stream on /dev/null. Left to itself, Wine starts
# them with the first program run in the prefix, and they inherit that
# program's stdout and stderr: under go test, the pipe of the first test
# binary, which they hold open until the server exits (3 s after the last
# program, so never while other test binaries run), and go test fails that
# binary after it has passed ("Test I/O incomplete 1m0s after exiting").
# Started here first, they hold nothing of any test's.
#
# Returns 1 if the server cannot be started. Takes ~0.01 s when the server
# runs, ~5 s to start it and the services. Needs WINE64 and WINESERVER
# (hnslb_find_wine). A lock makes concurrent callers wait until the
# services run, so that none of them starts them itself.
hnslb_start_server() {
	(
		flock 8 || exit 1
		# -p: persistent. Exit status 2: a server already runs in the
		# prefix (started here before, or by another Wine program: then
		# .ci/wine-exec.sh --shutdown first). The lock's descriptor is not
		# passed on: the server and the services would keep the lock.
		rc=0
		"$WINESERVER" -p </dev/null >/dev/null 2>&1 8>&- || rc=$?
		case $rc in
		0)
			# The first program starts the services and waits for them.
			"$WINE64" cmd.exe /c exit 0 </dev/null >/dev/null 2>&1 8>&- || true
			;;
		2) ;;
		*)
			echo "wine: starting $WINESERVER -p for $WINEPREFIX failed (exit status $rc)" >&2
			exit 1
			;;
		esac
	) 8>"$WINEPREFIX.server-lock"
}
