#!/usr/bin/env bash
# Runs a Windows program under Wine with the prefix .ci/wine-setup.sh made,
# and exits with the program's status. Made for go test's -exec flag:
#
#   GOOS=windows go test -exec "$PWD/.ci/wine-exec.sh" ./...
#
# Runs .ci/wine-setup.sh first if the prefix is not ready (which may install
# packages). Environment: WINEPREFIX (default ~/.cache/hnslb-wine), WINEDEBUG
# (default -all), HNSLB_WINE64 (the loader, if not found by itself),
# HNSLB_HNSSTUB=1 (enable the stand-in HNS DLLs; see .ci/wine-env.sh).
#
# Before the program, it starts the prefix's wineserver and Wine's services
# if they are not running, persistent and with their standard streams on
# /dev/null (hnslb_start_server in .ci/wine-env.sh): started by the program
# itself, they would inherit its stdout and stderr and hold go test's pipe
# open after the test exits. Then it execs wine64, so that it leaves no
# process of its own behind.
#
#   .ci/wine-exec.sh --start      starts the prefix's wineserver and services
#                                 (as every run does first); nothing if they
#                                 run already.
#   .ci/wine-exec.sh --shutdown   stops the prefix's wineserver, and every
#                                 Wine program in the prefix with it, and
#                                 waits for it; call it at the end of a run:
#                                 the server started here is persistent.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=wine-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/wine-env.sh"

if [[ ${1:-} == --shutdown ]]; then
	if hnslb_find_wine && [[ -d $WINEPREFIX ]]; then
		"$WINESERVER" -k >/dev/null 2>&1 || true
		"$WINESERVER" -w >/dev/null 2>&1 || true
	fi
	exit 0
fi

if [[ $# -eq 0 ]]; then
	echo "usage: $0 PROGRAM.exe [ARG...] | --start | --shutdown" >&2
	exit 2
fi

# A prefix made before the stand-in HNS existed has no DLL stamp. With the
# stand-in enabled, set-up always runs (~0.03 s when there is nothing to
# do), so that an edit to its C sources is built before the test runs.
if [[ ! -f $HNSLB_WINE_STAMP || ! -f $HNSLB_DLL_STAMP || ${HNSLB_HNSSTUB:-} == 1 ]] || ! hnslb_find_wine; then
	"$HNSLB_ROOT/.ci/wine-setup.sh"
	hnslb_find_wine
fi

hnslb_start_server
if [[ $1 == --start ]]; then
	exit 0
fi
exec "$WINE64" "$@"
