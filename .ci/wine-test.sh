#!/usr/bin/env bash
# Runs the whole test suite as Windows test binaries under Wine (DESIGN §8).
set -euo pipefail
cd "$(dirname "$0")/.."
.ci/wine-setup.sh
trap '.ci/wine-exec.sh --shutdown || true' EXIT
echo "mode: GOOS=windows GOARCH=amd64, test binaries run by wine64 (no HNS: hcn calls must fail as 'HNS not available')"
HNSLB_WINE=1 GOOS=windows GOARCH=amd64 go test -exec "$PWD/.ci/wine-exec.sh" ./...
