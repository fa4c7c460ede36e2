#!/usr/bin/env bash
# The rcbench command-line contract that scripts rely on: names, errors and
# exit statuses, no output file left behind on bad input, valid JSON after a
# run, --out on devices, FIFOs, links and stdout, and a valid partial file
# after SIGINT, SIGTERM and SIGHUP. This is not a benchmark.
set -uo pipefail
rcbench="$(realpath "$1")"  # absolute: some cases run elsewhere
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
expect_one_line() {  # bad input is reported as one line
  if [[ $(wc -l <"$tmp/out") -eq 1 ]]; then passes=$((passes + 1)); else
    echo "FAIL $1: wanted one line"; sed 's/^/    /' "$tmp/out"; fails=$((fails + 1)); fi
}
refuse() {  # refuse NAME REGEX RUN-ARGS... : exit 2, one line matching REGEX, no file
  local name="$1" regex="$2"
  shift 2
  rm -f "$tmp/a.json"
  check "$name" 2 "$rcbench" run "$@" --out "$tmp/a.json"
  expect_text "$name" "$regex"
  expect_one_line "$name"
  expect_no_file "$name" "$tmp/a.json"
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

# The checks come in four parts, each its own ctest test so the cores share
# them (under ThreadSanitizer the whole contract took three minutes on one):
# args (names, refusals, suites), runs (results files, --out targets, probe)
# signals, ab (the A/B driver against stand-in sides, tests/cli/fake_serve.sh,
# and one real pairing), and history (the store's statuses and messages on the
# files in tests/data). A second argument picks one; none runs them all.
part="${2:-all}"
case $part in all | args | runs | signals | ab | history) ;; *) echo "cli_test.sh: unknown part '$part' (all, args, runs, signals, ab, history)" >&2; exit 2 ;; esac
in_part() { [[ $part == all || $part == "$1" ]]; }

# The smallest run there is. --precision 99: these checks are about files and
# statuses, not numbers, and at the default +-2% a sanitizer build (its
# repetitions noisy, the other core busy with tests) ran each for 25 rounds.
quick=(--size quick --repetitions 2 --min-time 0.001 --precision 99)
tiny=(--strategy atomic --workload shared_list --threads 1 "${quick[@]}")

if in_part args; then
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

# Suites: listed, the default, narrowed, and a budget too short for them.
check list-suites 0 "$rcbench" list --suites
expect_text list-suites '^suite +headline '
expect_text list-suites '^suite +all '
refuse unknown-suite "unknown suite 'nosuch' \(valid: headline, seeds, " --suite nosuch
refuse suite-narrowed-outside "strategy 'gil' is not in suite 'headline'" --suite headline --strategy gil
check default-suite 0 "$rcbench" run --list --threads 1 --out "$tmp/a.json"
expect_text default-suite '^hot_object/cpython_ft/threads:1$'
if grep -q '/gil/' "$tmp/out"; then echo "FAIL default-suite: gil is not in headline"; fails=$((fails + 1)); fi
check suite-narrowed 0 "$rcbench" run --list --suite seeds --workload fork_cow --threads 1 --out "$tmp/a.json"
expect_text suite-narrowed '^fork_cow/atomic/threads:1$'
# (atomic: the sanitizer builds' reduced product has it with every workload)
check named-cells-exactly 0 "$rcbench" run --list --strategy atomic --workload fib --threads 1 --out "$tmp/a.json"
if [[ $(cat "$tmp/out") == "fib/atomic/threads:1" ]]; then passes=$((passes + 1)); else
  echo "FAIL named-cells-exactly: wanted fib/atomic/threads:1 alone"; cat "$tmp/out"; fails=$((fails + 1)); fi
refuse budget-too-short "--max-time 1 s is too short: these [0-9]+ benchmarks need about .*a suite that fits: " \
  --suite all --max-time 1

check version 0 "$rcbench" --version
expect_text version '^rcbench [0-9][^ ]*, commit ([0-9a-f]{12}|unknown)'
check unknown-subcommand 2 "$rcbench" frob
expect_text unknown-subcommand "unknown subcommand 'frob' \(valid: list, env, probe, run, compare, ab, history\)"
expect_one_line unknown-subcommand
check no-subcommand 2 "$rcbench"
expect_text no-subcommand "subcommand is required \(valid: list, env, probe, run, compare"

# Every number and list is checked before anything runs.
for v in nan inf -inf 0 -1 1x; do refuse "min-time $v" "bad --min-time '$v': must be .*> 0" --min-time="$v"; done
refuse duplicate-threads "bad --threads '1,1': 1 is listed twice" --threads 1,1
refuse empty-thread-item "bad --threads '1,,2': an empty item" --threads 1,,2
refuse empty-threads "--threads is empty" --threads ""
refuse empty-strategy "--strategy is empty" --strategy ""
refuse empty-workload "--workload is empty" --workload ""
refuse empty-strategy-item "bad --strategy 'atomic,,plain': an empty item" --strategy atomic,,plain
refuse empty-workload-item "bad --workload 'shared_list,': an empty item" --workload shared_list,
refuse negative-cv-threshold "bad --cv-threshold '-1'" --cv-threshold=-1
refuse nan-drift-threshold "bad --drift-threshold 'nan'" --drift-threshold nan
refuse placement-cpu-twice "bad --placement '0,0': CPU 0 is listed twice" --placement 0,0 --threads 2
for v in 0 100 150 -2 nan inf 2x; do
  refuse "precision '$v'" "bad --precision '$v': must be a percentage above 0 and below 100" --precision="$v"
done
refuse precision-empty "bad --precision '': must be a percentage" --precision ""
for v in 0 -5 inf nan; do refuse "max-time $v" "bad --max-time '$v': must be .*> 0" --max-time="$v"; done
refuse repetitions-zero "bad --repetitions '0': must be 1 or more" --repetitions 0
for v in -3 x 1.5 18446744073709551616; do refuse "seed $v" "bad --seed '$v': must be a whole number" --seed="$v"; done
refuse bad-filter "bad --filter 'shared_list/\(': not an ECMAScript regular expression" --filter 'shared_list/('
refuse bad-format "bad --format 'xml' \(valid: console, json, csv, md\)" --format xml
for v in -1 nan inf; do refuse "wait-quiet $v" "bad --wait-quiet '$v': must be .*>= 0" --wait-quiet="$v"; done
refuse bad-scaling "bad --scaling 'sideways' \(valid: weak, strong\)" --scaling sideways
refuse strong-scaling-handoff "workload 'handoff' cannot run under --scaling strong" \
  --scaling strong --workload handoff --threads 1,2
refuse strong-scaling-lcm "least common multiple of --threads 1,2,3,4,5,6,7,8 is above 256" \
  --scaling strong --threads 1,2,3,4,5,6,7,8 --oversubscribe
refuse strong-scaling-instructions "--scaling strong needs --metric time" --scaling strong --metric instructions

# env records whether the machine was quiet.
check env-quiet 0 "$rcbench" env
expect_text env-quiet '^quiet: (yes|no) \(load average [0-9.]+ (<=|>) [0-9]+ CPUs - 1\)'
check env-quiet-json 0 "$rcbench" env --json
if python3 -c '
import json, sys
q = json.load(open(sys.argv[1]))["quietness"]
assert isinstance(q["quiet"], bool) and q["cpus"] >= 1, q
assert q["load_average_1min"] is None or q["quiet"] == (q["load_average_1min"] <= q["cpus"] - 1), q
' "$tmp/out"; then passes=$((passes + 1)); else echo "FAIL env-quiet-json"; fails=$((fails + 1)); fi

fi  # args

if in_part runs; then

check tiny-run 0 "$rcbench" run --strategy plain,atomic --workload shared_list --threads 1 \
  "${quick[@]}" --seed 7 --out "$tmp/run.json"
valid_json tiny-run "$tmp/run.json" 2
if ls -a "$tmp" | grep -q '\.tmp\.'; then echo "FAIL tiny-run: temporary file left"; fails=$((fails + 1)); fi
if python3 -c '
import json, sys
rc = json.load(open(sys.argv[1]))["context"]["rcbench"]
assert rc["scaling"] == "weak" and "strong_units" not in rc, rc.get("scaling")
' "$tmp/run.json"; then passes=$((passes + 1)); else echo "FAIL tiny-run: not recorded as weak scaling"; fails=$((fails + 1)); fi
# --seed is recorded; each aggregate is over the repetitions in the statistics, as Google
# Benchmark aggregates: iterations = their number, CPU time and counters aggregated too.
if python3 -c '
import json, statistics, sys
d = json.load(open(sys.argv[1]))
assert d["context"]["rcbench"]["measurement"]["round_order_seed"] == 7
for name in {b["run_name"] for b in d["benchmarks"]}:
    reps = [b for b in d["benchmarks"] if b["run_name"] == name and b["run_type"] == "iteration"
            and b["rcbench"]["repetition"]["in_statistics"]]
    med = next(b for b in d["benchmarks"] if b["run_name"] == name and b.get("aggregate_name") == "median")
    assert med["iterations"] == len(reps), (med["iterations"], len(reps))
    cpu = statistics.median(b["cpu_time"] for b in reps)
    assert abs(med["cpu_time"] - cpu) <= 1e-6 * cpu, (med["cpu_time"], cpu)
    assert med["items_per_thread"] == reps[0]["items_per_thread"], med
' "$tmp/run.json"; then passes=$((passes + 1)); else echo "FAIL tiny-run: seed or aggregates"; fails=$((fails + 1)); fi
# The repeat interval: where a second run's median falls. The harness's (C++) and rcresults' (Python)
# are the same order statistics of the repetitions in the statistics, for ns and for cycles per item,
# in the summary and (ns) on the median aggregate; with 8 repetitions there is none.
check repeat-interval 0 "$rcbench" run --strategy atomic --workload shared_list --threads 1 --size quick \
  --repetitions 9 --min-time 0.001 --precision 99 --out "$tmp/pi.json"
check repeat-interval-8 0 "$rcbench" run --strategy atomic --workload shared_list --threads 1 --size quick \
  --repetitions 8 --min-time 0.001 --precision 99 --out "$tmp/pi8.json"
if python3 - "$tmp/pi.json" "$tmp/pi8.json" "$(dirname "$0")/../scripts" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[3])
import rcresults
for path, n in ((sys.argv[1], 9), (sys.argv[2], 8)):
    d = json.load(open(path))
    reps = [b for b in d["benchmarks"] if b["run_type"] == "iteration" and b["rcbench"]["repetition"]["in_statistics"]]
    med = next(b for b in d["benchmarks"] if b.get("aggregate_name") == "median")
    s = reps[0]["rcbench"]["summary"]
    assert len(reps) >= n, (path, len(reps))
    want = rcresults.repeat_pi95([b["ns_per_item"] for b in reps], len(reps))
    got = (s["ns_per_item_pi95_low"], s["ns_per_item_pi95_high"])
    if len(reps) < 9:
        assert want is None and got == (None, None) and "ns_per_item_pi95_low" not in med, (path, got)
        continue
    assert want == got, (path, want, got)
    assert (med["ns_per_item_pi95_low"], med["ns_per_item_pi95_high"]) == got, med
    assert 0.95 <= s["pi_coverage"] < 1, s["pi_coverage"]
    if all("cycles_per_item" in b for b in reps):
        cycles = rcresults.repeat_pi95([b["cycles_per_item"] for b in reps], len(reps))
        assert cycles == (s["cycles_per_item_pi95_low"], s["cycles_per_item_pi95_high"]), (cycles, s)
    assert "prediction interval" in d["context"]["rcbench"]["formulas"]["ns_per_item_pi95"]
PY
then passes=$((passes + 1)); else echo "FAIL repeat-interval: the file's repeat interval is not its repetitions'"; fails=$((fails + 1)); fi
# --processes fresh: each round's repetitions run in a new `_serve` child (its own address-space
# layout), the parent keeping the counted pass, calibrations and judgement. Every repetition names
# its child; one child per round; the rotation and the checksums hold as in one process.
check processes-fresh 0 "$rcbench" run --strategy atomic --workload shared_list,handoff --threads 1,2 --size quick \
  --repetitions 3 --min-time 0.001 --precision 99 --processes fresh --out "$tmp/fresh.json"
valid_json processes-fresh "$tmp/fresh.json" 4
if python3 - "$tmp/fresh.json" <<'PY'
import json, os, sys
d = json.load(open(sys.argv[1]))
rc = d["context"]["rcbench"]
assert rc["options"]["processes"] == "fresh", rc["options"]
reps = [b for b in d["benchmarks"] if b["run_type"] == "iteration"]
pids = {b["rcbench"]["repetition"]["process_id"] for b in reps}
assert all(p > 0 and p != os.getpid() for p in pids), pids
rounds = {b["repetition_index"] for b in reps}
assert len(pids) >= len(rounds), (len(pids), len(rounds))  # a child per round at least
for b in reps:
    assert b["checksum_ok"] == 1 and b["ns_per_item"] > 0, b
    r = b["rcbench"]["repetition"]
    if b["threads"] == 1:
        assert r["planned_cpus"][0] in b["rcbench"]["bound_cpus"], r
for name in {b["run_name"] for b in reps}:  # the same cell, a different child each repetition
    mine = [b["rcbench"]["repetition"]["process_id"] for b in reps if b["run_name"] == name]
    assert len(set(mine)) == len(mine), (name, mine)
PY
then passes=$((passes + 1)); else echo "FAIL processes-fresh: repetitions not each in a fresh child"; fails=$((fails + 1)); fi
check processes-bad 2 "$rcbench" run --processes two --strategy atomic --workload shared_list
expect_text processes-bad "bad --processes 'two' \(valid: one, fresh\)"
expect_one_line processes-bad
check processes-time-counted 2 "$rcbench" run --processes fresh --time-counted --strategy atomic --workload shared_list
expect_text processes-time-counted "cannot be combined with --processes fresh"

# Strong scaling: the same 2 units of work at 1 and 2 threads, and every checksum holds. dimuon
# gives each unit its own slice of events, so a unit run twice or never changes the sum.
check strong-run 0 "$rcbench" run --scaling strong --strategy atomic --workload shared_list,dimuon \
  --threads 1,2 "${quick[@]}" --out "$tmp/strong.json"
valid_json strong-run "$tmp/strong.json" 4
expect_text strong-run "strong scaling: 2 units of work per iteration at every thread count"
if python3 - "$tmp/strong.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
rc = d["context"]["rcbench"]
assert rc["scaling"] == "strong" and rc["options"]["scaling"] == "strong", rc["scaling"]
assert rc["strong_units"] == 2, rc["strong_units"]
assert "T1 / TN" in rc["formulas"]["speedup"], rc["formulas"]["speedup"]
assert not rc["failures"], rc["failures"]
for b in d["benchmarks"]:
    assert b["rcbench"]["scaling"] == "strong" and b["rcbench"]["units"] == 2, b["rcbench"]
    if b["run_type"] == "iteration":
        # ns_per_item and items_per_second both count the whole fixed work.
        assert abs(b["ns_per_item"] * b["items_per_second"] / 1e9 - 1) < 1e-9, b
PY
then passes=$((passes + 1)); else echo "FAIL strong-run: scaling not recorded as strong"; fails=$((fails + 1)); fi
# A 1-thread cell's repetitions take the 2-thread cells' CPUs in turn (--one-thread-cpus rotate,
# the default), each to the CPU with the fewest counted repetitions, so the statistics hold both
# CPUs equally; with first, every repetition is on the first of them. The planned CPU is checked,
# and the bound one where binding held (where it is refused, bound_cpus records -1).
if python3 - "$tmp/strong.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["context"]["rcbench"]["options"]["one_thread_cpus"] == "rotate"
reps = lambda t: [b for b in d["benchmarks"] if b["run_type"] == "iteration" and b["threads"] == t]
wide = reps(2)[0]["rcbench"]["bound_cpus"]
for b in reps(1):
    r = b["rcbench"]
    assert r["cpus_rotated"] and r["bound_cpus"] == wide, r
    planned = r["repetition"]["planned_cpus"]
    assert len(planned) == 1 and planned[0] in wide, r["repetition"]
    assert r["repetition"]["bound_cpus"] in (planned, [-1]), r["repetition"]
for cell in {b["name"] for b in reps(1)}:
    counted = [b["rcbench"]["repetition"]["planned_cpus"][0] for b in reps(1)
               if b["name"] == cell and b["rcbench"]["repetition"]["in_statistics"]]
    per_cpu = [counted.count(cpu) for cpu in wide]
    assert min(per_cpu) >= 1 and max(per_cpu) - min(per_cpu) <= 1, (cell, counted)
PY
then passes=$((passes + 1)); else echo "FAIL one-thread-rotate: 1-thread repetitions not on the CPUs in turn"; fails=$((fails + 1)); fi
check one-thread-first 0 "$rcbench" run --strategy atomic --workload shared_list --threads 1,2 --one-thread-cpus first \
  "${quick[@]}" --out "$tmp/first.json"
if python3 - "$tmp/first.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
one = [b for b in d["benchmarks"] if b["run_type"] == "iteration" and b["threads"] == 1]
assert one and all(b["rcbench"]["repetition"]["planned_cpus"] == one[0]["rcbench"]["bound_cpus"][:1] for b in one), one
assert not one[0]["rcbench"]["cpus_rotated"]
PY
then passes=$((passes + 1)); else echo "FAIL one-thread-first: 1-thread repetitions moved"; fails=$((fails + 1)); fi
# A run of 1-thread cells alone rotates over the CPUs its placement allows.
check one-thread-alone 0 "$rcbench" run --strategy atomic --workload shared_list --threads 1 "${quick[@]}" \
  --out "$tmp/alone.json"
if python3 - "$tmp/alone.json" "$(nproc)" <<'PY'
import json, sys
d, cpus = json.load(open(sys.argv[1])), int(sys.argv[2])
one = [b["rcbench"] for b in d["benchmarks"] if b["run_type"] == "iteration"]
planned = {r["repetition"]["planned_cpus"][0] for r in one}
assert all(r["cpus_rotated"] == (cpus >= 2) for r in one), one
assert len(planned) == min(cpus, len(one)), planned
PY
then passes=$((passes + 1)); else echo "FAIL one-thread-alone: a 1-thread run did not rotate"; fails=$((fails + 1)); fi
check one-thread-bad 2 "$rcbench" run --strategy atomic --workload shared_list --one-thread-cpus all
expect_text one-thread-bad "bad --one-thread-cpus 'all' \(valid: rotate, first\)"
expect_one_line one-thread-bad

# With every workload, the one whose threads depend on each other is left out, not refused.
check strong-list 0 "$rcbench" run --list --scaling strong --strategy atomic --threads 1,2 --out "$tmp/list.json"
expect_text strong-list '^dimuon/atomic/threads:2$'
if grep -q '^handoff/' "$tmp/out"; then echo "FAIL strong-list: handoff listed"; fails=$((fails + 1)); else
  passes=$((passes + 1)); fi

# Every new option given a valid value.
check tiny-run-new-options 0 "$rcbench" run --strategy atomic --workload shared_list --threads 1 --size quick \
  --repetitions 2 --min-time 0.001 --precision 50% --max-time 5 --wait-quiet 0 \
  --filter '^shared_list/' --format csv --cv-threshold 0.1 --out "$tmp/opts.json"
valid_json tiny-run-new-options "$tmp/opts.json" 1

# --out never replaces what is not a regular file.
check out-dev-null 0 "$rcbench" run "${tiny[@]}" --out /dev/null
if [[ -c /dev/null ]]; then passes=$((passes + 1)); else
  echo "FAIL out-dev-null: /dev/null is no longer a device"; fails=$((fails + 1)); fi
if [[ -e /dev/full ]]; then
  check out-dev-full 1 "$rcbench" run "${tiny[@]}" --out /dev/full
  expect_text out-dev-full "/dev/full.*No space left on device"
  if grep -q "wrote /dev/full" "$tmp/out"; then echo "FAIL out-dev-full: claims to have written"; fails=$((fails + 1)); fi
fi
mkdir -p "$tmp/real"
ln -s real/r.json "$tmp/link.json"
check out-symlink 0 "$rcbench" run "${tiny[@]}" --out "$tmp/link.json"
if [[ -L "$tmp/link.json" ]]; then passes=$((passes + 1)); else
  echo "FAIL out-symlink: the link was replaced"; fails=$((fails + 1)); fi
valid_json out-symlink-target "$tmp/real/r.json" 1
# A FIFO gets one document, at the end [waits for the runner: today it writes after every benchmark].
mkfifo "$tmp/fifo"
# The reader drains the FIFO to its end (EOF when rcbench closes it): killing it
# as soon as rcbench exits would cut the document at the pipe's 64 KiB buffer.
timeout 60 cat "$tmp/fifo" >"$tmp/fifo.json" &
reader=$!
check out-fifo 0 timeout 60 "$rcbench" run "${tiny[@]}" --out "$tmp/fifo"
wait "$reader" 2>/dev/null
if [[ -p "$tmp/fifo" ]]; then passes=$((passes + 1)); else echo "FAIL out-fifo: no longer a FIFO"; fails=$((fails + 1)); fi
valid_json out-fifo-document "$tmp/fifo.json" 1
# --out -: the JSON alone on stdout, messages on stderr [waits for the runner].
(cd "$tmp" && "$rcbench" run "${tiny[@]}" --out - >"$tmp/stdout.json" 2>"$tmp/out")
status=$?
if [[ $status -ne 0 ]]; then echo "FAIL out-stdout: exit $status"; cat "$tmp/out"; fails=$((fails + 1)); fi
valid_json out-stdout "$tmp/stdout.json" 1
expect_no_file out-stdout-no-dash-file "$tmp/-"

# --list prints the names and runs nothing [waits for the runner].
rm -f "$tmp/list.json"
check list-only 0 "$rcbench" run --list --strategy atomic --workload shared_list --threads 1 --out "$tmp/list.json"
expect_text list-only '^shared_list/atomic/threads:1$'
expect_no_file list-only "$tmp/list.json"

# The hardware floor on its own, and in every results file.
check probe-json 0 "$rcbench" probe --json
expect_text probe-json '"plain_pair_ns"'
expect_text probe-json '"atomic_pair_ns"'
expect_text probe-json '"contended_pair_ns"'
expect_text probe-json '"separate_lines_pair_ns"'
check probe-bad-placement 2 "$rcbench" probe --placement 0,0
expect_one_line probe-bad-placement

fi  # runs

if in_part signals; then
# SIGINT, SIGTERM and SIGHUP mid-run keep every finished benchmark in a
# valid file marked interrupted and exit 128 + the signal; a benchmark cut
# short of its 6 repetitions says how many it got and that it is incomplete
# [waits for the runner].
# Five workloads, not atomic's seventeen: a round of five still outlasts
# every delay below, and each of the nine runs had spent seconds of CPU on
# cells that no check looks at.
sig_cells=(--strategy atomic --workload shared_list,private_churn,hot_object,fib,handoff --threads 1)
for sig in INT:130 TERM:143 HUP:129; do
  name="signal ${sig%%:*}"
  rm -f "$tmp/sig.json"
  "$rcbench" run "${sig_cells[@]}" --repetitions 6 --min-time 0.2 --max-time 60 \
    --out "$tmp/sig.json" >"$tmp/out" 2>&1 &
  pid=$!
  # The first checkpoint comes after the first round: wait for it (a loaded
  # machine takes longer), then interrupt the second round.
  for _ in $(seq 1 600); do [[ -s "$tmp/sig.json" ]] && break; sleep 0.05; done
  sleep 0.3
  kill "-${sig%%:*}" "$pid"
  wait "$pid"
  status=$?
  if [[ $status -ne ${sig##*:} ]]; then
    echo "FAIL $name: exit $status, wanted ${sig##*:}"; cat "$tmp/out"; fails=$((fails + 1))
  else
    passes=$((passes + 1))
  fi
  valid_json "$name" "$tmp/sig.json" 1
  if python3 - "$tmp/sig.json" 6 <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["context"]["rcbench"]["interrupted"] is True, "context.rcbench.interrupted is not true"
minimum = int(sys.argv[2])
for name in {b["run_name"] for b in d["benchmarks"]}:
    entries = [b for b in d["benchmarks"] if b["run_name"] == name]
    reps = [b for b in entries if b["run_type"] == "iteration"]
    s = entries[0]["rcbench"]["summary"]
    assert s["repetitions"] == len(reps), (name, s["repetitions"], len(reps))
    assert s["incomplete"] is (s["repetitions"] < minimum), (name, s)
PY
  then passes=$((passes + 1)); else echo "FAIL $name: interrupted/incomplete not recorded"; fails=$((fails + 1)); fi
done

# The same with --processes fresh: the child ignores the signal and finishes its repetition, the
# parent writes what finished and exits 130, and no child is left behind.
rm -f "$tmp/sig.json"
"$rcbench" run "${sig_cells[@]}" --repetitions 6 --min-time 0.2 --max-time 60 --processes fresh \
  --out "$tmp/sig.json" >"$tmp/out" 2>&1 &
pid=$!
for _ in $(seq 1 600); do [[ -s "$tmp/sig.json" ]] && break; sleep 0.05; done
sleep 0.3
kill -INT "$pid"
wait "$pid"
status=$?
children=$(python3 -c 'import json,sys; print(" ".join(str(b["rcbench"]["repetition"]["process_id"]) for b in json.load(open(sys.argv[1]))["benchmarks"] if b["run_type"] == "iteration"))' "$tmp/sig.json" 2>/dev/null)
alive=0
for child in $children; do kill -0 "$child" 2>/dev/null && alive=1; done
if [[ $status -eq 130 && -n "$children" && $alive -eq 0 ]]; then
  passes=$((passes + 1))
else
  echo "FAIL signal INT, --processes fresh: exit $status, wanted 130 with no child left"; cat "$tmp/out"
  fails=$((fails + 1))
fi
valid_json "signal INT, --processes fresh" "$tmp/sig.json" 1

# Ctrl-C halfway: the finished benchmarks stay in a valid file, status 130.
# Interrupted at several moments, so it lands in a probe, in a first and in a
# later repetition of a benchmark (Google Benchmark treats them differently).
for delay in 0.05 0.3 0.55 0.8 1.1 1.4; do
  rm -f "$tmp/int.json"
  "$rcbench" run "${sig_cells[@]}" --repetitions 3 --min-time 0.2 --no-interleave \
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

fi  # signals

if in_part ab; then
# rcbench ab's driver: verdicts, failures and signals against stand-in sides
# whose answers are fixed, so every verdict below is certain, not sampled.
for side in base-100 head-100 head-103 head-120 head-80 head-error head-die head-slow head-unbound head-unbound-die; do
  ln -s "$(dirname "$0")/cli/fake_serve.sh" "$tmp/$side"
done
ab() { "$rcbench" ab "$tmp/$1" "$tmp/$2" "${@:3}"; }
check ab-regression 1 ab base-100 head-120 --rounds 12 --seed 1 -o "$tmp/ab.json"
expect_text ab-regression 'w/s/threads:2 +12 +\+20\.0% .*REGRESSION'
expect_text ab-regression '^2 regression\(s\), 0 improvement\(s\), 0 same'
expect_text ab-regression 'Holm-adjusted over 2 cells'
if python3 - "$tmp/ab.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == "rcbench-ab/1" and d["correction"] == "holm" and d["rounds_done"] == 12, d
for c in d["cells"]:
    assert c["rounds"] == 12 and len(c["ratios"]) == 12, c
    assert abs(c["median_ratio"] - 1.2) < 1e-9 and c["verdict"] == "REGRESSION", c
    assert c["p_holm"] < d["alpha"], c
PY
then passes=$((passes + 1)); else echo "FAIL ab-json: not the rounds and verdicts"; fails=$((fails + 1)); fi
check ab-improvement 0 ab base-100 head-80 --rounds 12
expect_text ab-improvement '^0 regression\(s\), 2 improvement\(s\)'
check ab-same 0 ab base-100 head-100 --rounds 12
expect_text ab-same '^0 regression\(s\), 0 improvement\(s\), 2 same'
check ab-within-threshold 0 ab base-100 head-103 --rounds 12
expect_text ab-within-threshold '2 same'
check ab-lower-threshold 1 ab base-100 head-103 --rounds 12 --threshold 2
expect_text ab-lower-threshold '2 regression\(s\)'
check ab-too-few-rounds-for-holm 0 ab base-100 head-120 --rounds 6
expect_text ab-too-few-rounds-for-holm '2 insufficient data'
check ab-md 1 ab base-100 head-120 --rounds 12 --format md
expect_text ab-md '^\| cell \| rounds \| HEAD vs BASE'
check ab-failed 1 ab base-100 head-error --rounds 12
expect_text ab-failed 'FAILED: HEAD: checksum mismatch \(fake\)'
check ab-unbound 0 ab base-100 head-unbound --rounds 12
expect_text ab-unbound '^warning: w/s/threads:1: HEAD CPU 7: not in the cpuset \(fake\) \(that thread ran unpinned\)$'
check ab-side-dies 1 ab base-100 head-die --rounds 12
expect_text ab-side-dies "HEAD's rcbench ended"
# A side that dies after reporting an unpinned thread: the warning is still printed.
check ab-unbound-then-dies 1 ab base-100 head-unbound-die --rounds 12
expect_text ab-unbound-then-dies "HEAD's rcbench ended"
expect_text ab-unbound-then-dies '^warning: w/s/threads:[12]: HEAD CPU 7: not in the cpuset \(fake\) \(that thread ran unpinned\)$'
check ab-missing 2 "$rcbench" ab "$tmp/base-100" "$tmp/nope"
expect_text ab-missing "HEAD '.*/nope': no such file"
expect_one_line ab-missing
check ab-few-rounds 2 ab base-100 head-100 --rounds 3
expect_text ab-few-rounds "--rounds 3 is too few"
check ab-bad-strategy 2 ab base-100 head-100 --strategy nope
expect_text ab-bad-strategy "unknown strategy 'nope'"
expect_one_line ab-bad-strategy
# Ctrl-C: the repetition in flight finishes, the rounds done are judged and
# written, status 130.
rm -f "$tmp/ab-int.json"
"$rcbench" ab "$tmp/base-100" "$tmp/head-slow" --rounds 12 -o "$tmp/ab-int.json" >"$tmp/out" 2>&1 &
pid=$!
sleep 2
kill -INT "$pid"
wait "$pid"
status=$?
if [[ $status -eq 130 ]]; then passes=$((passes + 1)); else
  echo "FAIL ab-sigint: exit $status, wanted 130"; cat "$tmp/out"; fails=$((fails + 1)); fi
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["interrupted"] is True and d["rounds_done"] < 12, d' "$tmp/ab-int.json"; then
  passes=$((passes + 1)); else echo "FAIL ab-sigint: no file marked interrupted"; fails=$((fails + 1)); fi
# One real pairing: the binary against itself, the smallest cell, every
# round recorded (the threshold makes the verdict certain: this is about the
# protocol, not the numbers).
check ab-real 0 "$rcbench" ab "$rcbench" "$rcbench" --strategy atomic --workload shared_list --threads 1 \
  --min-time 0.001 --rounds 6 --threshold 1000 -o "$tmp/ab-real.json"
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); c=d["cells"]; assert len(c)==1 and c[0]["rounds"]==6 and all(r>0 for r in c[0]["ratios"]), d' "$tmp/ab-real.json"; then
  passes=$((passes + 1)); else echo "FAIL ab-real: not six rounds of one cell"; fails=$((fails + 1)); fi
fi  # ab

if in_part history; then
data="$(dirname "$(realpath "$0")")/data"
db="$tmp/h.sqlite"
check history-help 0 "$rcbench" history --help
expect_text history-help 'add .*record results files'
check history-needs-a-subcommand 2 "$rcbench" history
check history-missing-file 2 "$rcbench" history add "$data/absent.json" --db "$db"
expect_text history-missing-file "absent.json' does not exist"
expect_one_line history-missing-file
expect_no_file history-missing-file "$db"
check history-no-db 2 "$rcbench" history show atomic --db "$db"
expect_text history-no-db "no history database at '.*h.sqlite'"
: >"$tmp/empty.sqlite"
check history-empty-db 2 "$rcbench" history diff aaaa bbbb --db "$tmp/empty.sqlite"
expect_text history-empty-db "is empty: record results first"
expect_one_line history-empty-db
# A results schema from the future: refused in one line, nothing recorded.
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["context"]["rcbench"]["schema"]="rcbench/9"; json.dump(d, open(sys.argv[2], "w"))' \
  "$data/rcbench2-base.json" "$tmp/future.json"
check history-future-schema 2 "$rcbench" history add "$data/rcbench2-base.json" "$tmp/future.json" --db "$db"
expect_text history-future-schema "schema 'rcbench/9', which this rcbench does not read"
expect_one_line history-future-schema
expect_no_file history-future-schema "$db"
check history-not-rcbench 2 "$rcbench" history add "$data/gbench-own.json" --db "$db"
expect_text history-not-rcbench "not an rcbench results file"
# The fixtures share one commit: --commit places them. gzip'd and plain are one file.
gzip -c "$data/rcbench2-base.json" >"$tmp/base.json.gz"
check history-add 0 "$rcbench" history add "$tmp/base.json.gz" --commit 1111aaaa --db "$db" --machine fixture-box
expect_text history-add 'recorded 1 file\(s\), 10 cell\(s\)'
check history-add-again 0 "$rcbench" history add "$data/rcbench2-base.json" --commit 1111aaaa --db "$db"
expect_text history-add-again 'recorded 0 file\(s\), 0 cell\(s\) .* 1 already there'
check history-add-slow 0 "$rcbench" history add "$data/rcbench2-slow-clock.json" --commit 2222bbbb --db "$db"
# diff says what compare says about the same two files, by compare's code.
"$rcbench" compare "$data/rcbench2-base.json" "$data/rcbench2-slow-clock.json" | tail -1 >"$tmp/compare-summary"
check history-diff-regression 1 "$rcbench" history diff 1111 2222 --db "$db" --format console
expect_text history-diff-regression "^$(sed 's/[()]/\\&/g' "$tmp/compare-summary")\$"
expect_text history-diff-regression '^==> fixture-box \(.*Synthetic CPU'
check history-diff-md 1 "$rcbench" history diff 1111 2222 --db "$db"
expect_text history-diff-md '^\*\*FAIL\*\* \(wall time, threshold 5%'
check history-diff-csv 1 "$rcbench" history diff 1111 2222 --db "$db" --format csv
expect_text history-diff-csv '^fixture-box,[0-9a-f]{16},.*,regression$'
check history-diff-json 1 "$rcbench" history diff 1111 2222 --db "$db" --format json
expect_text history-diff-json '"schema": "rcbench-history-diff/1"'
check history-diff-same 2 "$rcbench" history diff 1111 1111aaaa --db "$db"
expect_text history-diff-same "both revisions are commit 1111aaaa: history diff compares two commits"
expect_one_line history-diff-same
check history-unknown-revision 2 "$rcbench" history diff 1111 3333 --db "$db"
expect_text history-unknown-revision "unknown revision '3333': no run recorded at it \(recorded: 1111aaaa, 2222bbbb\)"
expect_one_line history-unknown-revision
check history-short-revision 2 "$rcbench" history diff 11 2222 --db "$db"
check history-bad-format 2 "$rcbench" history show atomic --db "$db" --format xml
expect_text history-bad-format "bad --format 'xml' \(valid: md, csv, json\)"
check history-unknown-machine 2 "$rcbench" history show atomic --db "$db" --machine nosuch
expect_text history-unknown-machine "no machine 'nosuch' in the history \(machines: fixture-box"
check history-show 0 "$rcbench" history show 'shared_list/atomic/threads:1' --db "$db" --format csv
expect_text history-show '^fixture-box,[0-9a-f]{16},shared_list/atomic/threads:1,.*,1111aaaa,1,'
check history-show-no-cell 2 "$rcbench" history show 'nosuch' --db "$db"
expect_text history-show-no-cell "no cell in the history matches 'nosuch'"
fi  # history

echo "cli: $passes passed, $fails failed"
[[ $fails -eq 0 ]]
