#!/usr/bin/env bash
# Runs each package's tap suite against real services, then prints one summary.
# Services that were missing are started for this run only and stopped at the end.
set -u
cd "$(dirname "$0")/../.."
infra="node infra/dist/cli.js"
envfile=.data/test.env

$infra ensure --session test --browser --write-env "$envfile" || exit 1
trap '$infra stop --session test' EXIT
# shellcheck disable=SC1090
source "$envfile"
# Pinned AWS SDK versions: its "Node 22 after January 2027" notice is noise in test output.
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
$infra clean-tests --older-than-minutes 60 || true

# Test files in parallel: tap's default is one fewer than the CPUs, which is one on a 2-core machine,
# and most files spend their time waiting on services and timers (make test used about one core of
# two, 17.8 min wall). Two at once there: 12.6 min, the same tests passing. TAP_JOBS overrides it.
cpus=$(nproc 2>/dev/null || echo 2)
jobs=${TAP_JOBS:-$(( cpus > 2 ? cpus - 1 : 2 ))}

# Coverage: a package that enforces it (tap's 100 % default, no `allow-incomplete-coverage` in its
# .taprc) always collects it; the others only under COVERAGE=1 (`make coverage`). Their tables
# gate nothing, and collecting them cost 12 % of the gateway's run (398 → 351 s, ADR 0004).
coverage_args() {
  if [ "${COVERAGE:-0}" != 1 ] && grep -Eq '^allow-incomplete-coverage: *true' "$1/.taprc" 2>/dev/null; then
    echo --disable-coverage
  fi
}

declare -a results
failed=0
grand=0
passed=0
skipped=0
for pkg in "$@"; do
  if [ -z "$(find "$pkg/test" -name '*.test.ts' 2>/dev/null | head -1)" ]; then
    results+=("$pkg: no tests")
    continue
  fi
  echo "=== $pkg"
  start=$(date +%s)
  mkdir -p .data/test-logs
  out=.data/test-logs/$pkg.tap
  # Full TAP goes to .data/test-logs/<package>.tap; the console shows failures, subtests and totals.
  cov=$(coverage_args "$pkg")
  # shellcheck disable=SC2086
  (cd "$pkg" && npx tap --reporter=tap --jobs="$jobs" $cov 2>&1) | tee "$out" | grep -Ev '^\s+ok [0-9]+ - |^npm warn'
  status=${PIPESTATUS[0]}
  counts=$(grep -Eo '# \{ total: [0-9]+, pass: [0-9]+[^}]*\}' "$out" | tail -1 | sed 's/^# //')
  total=$(echo "$counts" | grep -Eo 'total: [0-9]+' | grep -Eo '[0-9]+' || echo 0)
  pass=$(echo "$counts" | grep -Eo 'pass: [0-9]+' | grep -Eo '[0-9]+' || echo 0)
  grand=$((grand + ${total:-0}))
  passed=$((passed + ${pass:-0}))
  skip=$(echo "$counts" | grep -Eo 'skip: [0-9]+' | grep -Eo '[0-9]+' || echo 0)
  skipped=$((skipped + ${skip:-0}))
  secs=$(( $(date +%s) - start ))
  # A file whose output holds no test is not a pass: its TAP stream was broken (a child's output
  # on stdout once did that to the cluster test) or it ran nothing.
  empty=$(grep -E '^ok [0-9]+ - .* # SKIP no tests found' "$out" | sed -E 's/^ok [0-9]+ - ([^ ]+).*/\1/' | tr '\n' ' ')
  if [ -n "$empty" ]; then echo "$pkg: no test ran in: $empty"; status=1; fi
  if [ "$status" -ne 0 ]; then failed=$((failed + 1)); results+=("$pkg: FAILED ${counts} (${secs}s)")
  else results+=("$pkg: ok ${counts} (${secs}s)"); fi
done

echo
echo "=== summary"
printf '  %s\n' "${results[@]}"
echo "tests: ${passed} passed, $((grand - passed - skipped)) failed, ${skipped} skipped"
if [ "$failed" -ne 0 ]; then echo "$failed package(s) failed"; exit 1; fi
if [ "$grand" -eq 0 ]; then echo "no test ran"; exit 1; fi
echo "all packages passed"
