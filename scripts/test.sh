#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need, then runs them. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --test
[ -d node_modules ] || npm ci --no-audit --no-fund
npm test
