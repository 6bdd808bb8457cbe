#!/usr/bin/env bash
# Runs each package's tap suite against real services, then prints one summary.
# Services that were missing are started for this run only and stopped at the end.
set -u
cd "$(dirname "$0")/../.."
infra="node infra/dist/cli.js"
envfile=.data/test.env

$infra ensure --session test --env-file "$envfile" || exit 1
trap '$infra stop --session test' EXIT
# shellcheck disable=SC1090
source "$envfile"
$infra clean-tests --older-than-minutes 60 || true

declare -a results
failed=0
for pkg in "$@"; do
  if ! ls "$pkg"/test/*.test.ts "$pkg"/test/**/*.test.ts >/dev/null 2>&1; then
    results+=("$pkg: no tests")
    continue
  fi
  echo "=== $pkg"
  start=$(date +%s)
  out=$(mktemp)
  (cd "$pkg" && npx tap --reporter=terse 2>&1) | tee "$out"
  status=${PIPESTATUS[0]}
  counts=$(grep -Eo '# \{ total: [0-9]+, pass: [0-9]+[^}]*\}' "$out" | tail -1 | sed 's/^# //')
  rm -f "$out"
  secs=$(( $(date +%s) - start ))
  if [ "$status" -ne 0 ]; then failed=$((failed + 1)); results+=("$pkg: FAILED ${counts} (${secs}s)")
  else results+=("$pkg: ok ${counts} (${secs}s)"); fi
done

echo
echo "=== summary"
printf '  %s\n' "${results[@]}"
if [ "$failed" -ne 0 ]; then echo "$failed package(s) failed"; exit 1; fi
echo "all packages passed"
