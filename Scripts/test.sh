#!/usr/bin/env bash
# Installs what the tests need (system packages, the default encoder) and runs the whole test suite.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash Scripts/setup.sh --no-build
swift test "$@"
