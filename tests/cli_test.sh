#!/usr/bin/env bash
# The rcbench command-line contract that scripts rely on: names, errors and
# exit statuses, no output file left behind on bad input, valid JSON after a
# run, and a valid partial file after SIGINT. This is not a benchmark.
set -uo pipefail
rcbench="$1"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fails=0
passes=0

check() {  # check NAME EXPECTED_STATUS COMMAND... ; output in $tmp/out
  local name="$1" want="$2"
  shift 2
  "$@" >"$tmp/out" 2>&1
  local got=$?
  if [[ $got -ne $want ]]; then
    echo "FAIL $name: exit $got, wanted $want"; sed 's/^/    /' "$tmp/out"; fails=$((fails + 1))
  else
    passes=$((passes + 1))
  fi
}
expect_text() {  # expect_text NAME REGEX
  if grep -Eq -- "$2" "$tmp/out"; then passes=$((passes + 1)); else
    echo "FAIL $1: output lacks /$2/"; sed 's/^/    /' "$tmp/out"; fails=$((fails + 1)); fi
}
expect_no_file() {
  if [[ -e "$2" ]]; then echo "FAIL $1: $2 was left behind"; fails=$((fails + 1)); else passes=$((passes + 1)); fi
}
valid_json() {  # valid_json NAME FILE MIN_BENCHMARKS
  if python3 - "$2" "$3" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
names = {b["run_name"] for b in d["benchmarks"]}
assert len(names) >= int(sys.argv[2]), names
assert "rcbench" in d["context"], "no rcbench context"
for b in d["benchmarks"]:
    assert "/manual_time" not in b["name"], b["name"]
    assert b["run_name"].count("/") == 2 and "/threads:" in b["run_name"], b["run_name"]
    if b["run_type"] == "iteration":
        assert b["checksum_ok"] == 1, b
        assert b["threads"] == int(b["run_name"].split("threads:")[1]), b
PY
  then passes=$((passes + 1)); else echo "FAIL $1: $2 is not a valid results file"; fails=$((fails + 1)); fi
}

check list 0 "$rcbench" list
expect_text list-strategies '^strategy +plain '
expect_text list-workloads '^workload +shared_list '

check help 0 "$rcbench" run --help
expect_text help '--strategy'

check unknown-strategy 2 "$rcbench" run --strategy nosuch --out "$tmp/a.json"
expect_text unknown-strategy "unknown strategy 'nosuch' \(valid: plain, "
expect_no_file unknown-strategy "$tmp/a.json"

check unknown-workload 2 "$rcbench" run --workload nosuch --out "$tmp/a.json"
expect_text unknown-workload "unknown workload 'nosuch' \(valid: shared_list"
expect_no_file unknown-workload "$tmp/a.json"

check zero-threads 2 "$rcbench" run --threads 0 --out "$tmp/a.json"
expect_text zero-threads "bad thread count"
check junk-threads 2 "$rcbench" run --threads 1,x --out "$tmp/a.json"
expect_text junk-threads "bad thread count 'x'"
check too-many-threads 2 "$rcbench" run --threads 4096 --out "$tmp/a.json"
expect_text too-many-threads "oversubscribe"
check plain-alone-multithreaded 2 "$rcbench" run --strategy plain --threads 2 --out "$tmp/a.json"
expect_text plain-alone-multithreaded "single-threaded"
check bad-size 2 "$rcbench" run --size huge --out "$tmp/a.json"
expect_text bad-size "valid: quick, full"
check bad-placement 2 "$rcbench" run --placement 0,zz --out "$tmp/a.json"
expect_text bad-placement "valid: compact, scatter"
check unwritable 2 "$rcbench" run --out /proc/rcbench-cannot-write/x.json
expect_text unwritable "cannot write"
expect_no_file unwritable-leftover "$tmp/a.json"

check tiny-run 0 "$rcbench" run --strategy plain,atomic --workload shared_list --threads 1 \
  --repetitions 2 --min-time 0.001 --out "$tmp/run.json"
valid_json tiny-run "$tmp/run.json" 2
if ls -a "$tmp" | grep -q '\.tmp\.'; then echo "FAIL tiny-run: temporary file left"; fails=$((fails + 1)); fi

# Ctrl-C halfway: the finished benchmarks stay in a valid file, status 130.
# Interrupted at several moments, so it lands in a probe, in a first and in a
# later repetition of a benchmark (Google Benchmark treats them differently).
for delay in 0.05 0.3 0.55 0.8 1.1 1.4; do
  rm -f "$tmp/int.json"
  "$rcbench" run --strategy atomic --threads 1 --repetitions 3 --min-time 0.2 --no-interleave \
    --out "$tmp/int.json" >"$tmp/out" 2>&1 &
  pid=$!
  for _ in $(seq 1 200); do [[ -s "$tmp/int.json" ]] && break; sleep 0.05; done
  sleep "$delay"
  kill -INT "$pid"
  wait "$pid"
  status=$?
  if [[ $status -ne 130 ]]; then
    echo "FAIL interrupt after +$delay s: exit $status, wanted 130"; cat "$tmp/out"; fails=$((fails + 1))
  else
    passes=$((passes + 1))
  fi
  valid_json "interrupt after +$delay s" "$tmp/int.json" 1
done

echo "cli: $passes passed, $fails failed"
[[ $fails -eq 0 ]]
