#!/usr/bin/env bash
# Runs the Windows test binaries under Wine (DESIGN §8), twice:
#
#   1. the whole suite with no HNS: the stand-in HNS DLLs are disabled, so
#      every hcn call must fail as "HNS not available" (HNSLB_WINE=1);
#   2. the stand-in HNS tests (TestHCNStub*) with the stand-in DLLs enabled
#      (HNSLB_HNSSTUB=1): the real hcn code path against fake.HNS.
#
# The two never share a process, and the mode is chosen per process by
# .ci/wine-env.sh, so nothing is installed or removed between them.
set -euo pipefail
cd "$(dirname "$0")/.."
.ci/wine-setup.sh
log=$(mktemp)
trap 'rm -f "$log"; .ci/wine-exec.sh --shutdown || true' EXIT
export GOOS=windows GOARCH=amd64

echo "mode 1/2: test binaries run by wine64, no HNS (stand-in DLLs disabled): hcn calls must fail as 'HNS not available'"
start=$SECONDS
env -u HNSLB_HNSSTUB HNSLB_WINE=1 go test -exec "$PWD/.ci/wine-exec.sh" ./...
echo "($((SECONDS - start))s)"

echo "mode 2/2: test binaries run by wine64, stand-in HNS (testing/wine/hnsstub): the real hcn path against fake.HNS"
start=$SECONDS
if ! env -u HNSLB_WINE HNSLB_HNSSTUB=1 go test -exec "$PWD/.ci/wine-exec.sh" -run '^TestHCNStub' -v ./hnsadapter/ >"$log" 2>&1; then
	grep -v '"level"=' "$log" # the Reconciler's logs (go test -v) are noise here
	exit 1
fi
grep -E '^(--- |ok )' "$log"
# Skipped would mean the stand-in was not reached: a silent pass.
if grep -q -- '--- SKIP' "$log" || ! grep -q -- '--- PASS: TestHCNStub' "$log"; then
	grep -E -A3 -- '--- SKIP' "$log" || true
	echo "the stand-in HNS tests did not run" >&2
	exit 1
fi
echo "($((SECONDS - start))s)"
