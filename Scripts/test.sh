#!/usr/bin/env bash
# Installs what the tests need (system packages, the default encoder) and runs the whole test suite.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash Scripts/setup.sh --no-build
# The tests' temporary folders and files (corpora, models, runs, browser profiles) go to a folder of their own,
# removed when the run ends however it ends.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/bert-tagger-tests.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
TMPDIR="$scratch" swift test "$@"
