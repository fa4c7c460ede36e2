#!/usr/bin/env bash
# CI performance gate: the instruction counts of the single-threaded quick
# matrix (every strategy x every workload but six of the eight pyvm_* programs:
# RCB_GATE_ALL=1 counts those too) against the committed
# baseline. Instruction counts repeat exactly under callgrind, so the gate
# holds each cell to 1% without false alarms on a noisy shared machine; it
# cannot see contention or scaling (docs/regressions.md says what can).
#
#   scripts/ci-gate.sh                 check; exit 1 on a regression
#   scripts/ci-gate.sh --update        regenerate the baseline on purpose, then commit it
#   scripts/ci-gate.sh --wall REV      wall time instead, for contention: build REV's rcbench in a
#                                      worktree (build/wall-base) and `rcbench ab` it against
#                                      --rcbench on the default suite's cells at every CPU
#                                      (docs/regressions.md); exit 1 on a regression. Options
#                                      after -- go to `rcbench ab` (e.g. -- --suite seeds).
#
# Options:
#   --rcbench PATH    the rcbench to run (default: $RCBENCH, else build/release/harness/rcbench)
#   --baseline FILE   default: results/baseline/instructions-quick.json
#   --out FILE        where this run's counts go (default: build/ci-gate/instructions-quick.json)
#   --md FILE         also write the comparison as a Markdown table (for a pull request or a
#                     CI job summary such as $GITHUB_STEP_SUMMARY)
#
#   --allow FILE      cells that may end as "insufficient data", one per line with its reason
#                     (default: results/baseline/gate-allow.txt)
#   --history DB      also record this run's counts, under its commit and this machine's
#                     fingerprint, into the `rcbench history` database DB (default: $RCB_HISTORY_DB,
#                     else build/ci-gate/history.sqlite; "" records nothing). $RCB_MACHINE names
#                     the machine there (default: its host name). docs/regressions.md says how to
#                     keep DB across CI runs.
#
# Every cell must be judged: a cell compare calls "insufficient data" (its
# counts vary too much to judge) fails the gate unless the allow file lists
# it, with a reason a reviewer sees in the diff.
#
# Builds nothing. Exit status: 0 nothing regressed (added or removed cells
# are reported but pass); 1 a regression, a cell that failed its checksum or
# leak check, or an unjudged cell not in the allow file; 2 bad setup (no
# rcbench, no valgrind, no baseline, unreadable files); 130 interrupted.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
rcbench=${RCBENCH:-$root/build/release/harness/rcbench}
baseline=$root/results/baseline/instructions-quick.json
out=$root/build/ci-gate/instructions-quick.json
update=0
md=
allow=$root/results/baseline/gate-allow.txt
wall=
history=${RCB_HISTORY_DB-$root/build/ci-gate/history.sqlite}
ab_extra=()

usage() { sed -n '2,/^set /{/^set /d;s/^# \{0,1\}//;p}' "$0"; }

while [ $# -gt 0 ]; do
  case $1 in
    --update) update=1 ;;
    --rcbench) rcbench=${2:?--rcbench needs a path}; shift ;;
    --baseline) baseline=${2:?--baseline needs a file}; shift ;;
    --out) out=${2:?--out needs a file}; shift ;;
    --md) md=${2:?--md needs a file}; shift ;;
    --allow) allow=${2:?--allow needs a file}; shift ;;
    --history) history=${2?--history needs a database path}; shift ;;
    --wall) wall=${2:?--wall needs a revision}; shift ;;
    --) shift; ab_extra=("$@"); break ;;
    -h | --help) usage; exit 0 ;;
    *) echo "ci-gate: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

if [ ! -x "$rcbench" ]; then
  echo "ci-gate: no rcbench at $rcbench; build it first (cmake --preset release && cmake --build build/release -j2) or pass --rcbench PATH" >&2
  exit 2
fi

# --wall: the paired wall-time A/B of REV against this build. Only the
# multi-thread cells: at one thread the instruction gate is exact already.
if [ -n "$wall" ]; then
  rev=$(git -C "$root" rev-parse --verify --quiet "$wall^{commit}") ||
    { echo "ci-gate: --wall: '$wall' is not a revision of $root" >&2; exit 2; }
  base_src=$root/build/wall-base/src
  if [ -e "$base_src/.git" ]; then
    git -C "$base_src" checkout -q --detach "$rev" || exit 2
  else
    mkdir -p "$(dirname "$base_src")"
    git -C "$root" worktree add -q --detach "$base_src" "$rev" || exit 2
  fi
  echo "==> building the base, $(git -C "$root" log -1 --format='%h %s' "$rev")"
  (cd "$base_src" && cmake --preset release >/dev/null && cmake --build --preset release -j "$(nproc)" --target rcbench) ||
    { echo "ci-gate: the base revision $rev did not build" >&2; exit 2; }
  mkdir -p "$root/build/ci-gate"
  ab=("$rcbench" ab "$base_src/build/release/harness/rcbench" "$rcbench" --threads "$(nproc)"
      --out "$root/build/ci-gate/ab.json" "${ab_extra[@]}")
  if [ -n "$md" ]; then
    mkdir -p "$(dirname "$md")"
    "${ab[@]}" --format md | tee "$md"
  else
    "${ab[@]}"
  fi
  status=${PIPESTATUS[0]}
  case $status in
    0) echo "ci-gate --wall: PASS (no wall-time regression against $rev)" ;;
    1) echo "ci-gate --wall: FAIL: see the REGRESSION/FAILED lines above (build/ci-gate/ab.json has every round)" ;;
    *) echo "ci-gate --wall: rcbench ab could not run (status $status)" ;;
  esac
  exit "$status"
fi

# The matrix, the same for the baseline and every check. Size quick keeps
# each cell a fraction of a second natively (about a second under
# callgrind, mostly valgrind's start-up); 3 counted iterations after a
# warm-up are the default of --metric instructions.
# Every workload but most of the interpreter family: under callgrind an interpreter cell
# runs ~50x slower than natively, and sixteen strategies x eight programs would take most of
# CI's time. pyvm_fib (calls, frames) and pyvm_shared_iter (a loop over shared objects)
# stand for the family; RCB_GATE_ALL=1 counts every cell.
workloads=$("$rcbench" list | awk '$1 == "workload" && ($2 !~ /^pyvm_/ || $2 == "pyvm_fib" || $2 == "pyvm_shared_iter") { print $2 }' | paste -sd, -)
if [ "${RCB_GATE_ALL:-}" = 1 ]; then workloads=all; fi
# Cells are counted side by side, one valgrind per CPU: counts do not depend on it.
matrix=(run --metric instructions --size quick --threads 1 --jobs "$(nproc 2>/dev/null || echo 1)")
if [ "$workloads" != all ]; then matrix+=(--workload "$workloads"); fi

if [ "$update" = 1 ]; then
  mkdir -p "$(dirname "$baseline")"
  # Two repetitions: a cell whose count does not repeat is flagged in the
  # output (and compare then judges it by the rank test, which never fails
  # on so few), instead of becoming a flaky gate.
  "$rcbench" "${matrix[@]}" --repetitions 2 --out "$baseline"
  status=$?
  if [ $status -ne 0 ]; then
    echo "ci-gate: the run failed (status $status); $baseline is not a baseline to commit" >&2
    exit $status
  fi
  echo "ci-gate: wrote $baseline; review it (git diff --stat) and commit it with the change that moved the counts"
  exit 0
fi

if [ ! -f "$baseline" ]; then
  echo "ci-gate: no baseline at $baseline; create one with: scripts/ci-gate.sh --update" >&2
  exit 2
fi

mkdir -p "$(dirname "$out")"
"$rcbench" "${matrix[@]}" --out "$out"
run_status=$?
case $run_status in
  0 | 1) ;;  # 1: a cell failed; compare below reports it as FAILED and fails
  *) echo "ci-gate: rcbench run ended with status $run_status" >&2; exit $run_status ;;
esac

# The counts into the history before judging them: a regression is worth a
# point in the series too. Failing to record is reported, never the verdict.
if [ -n "$history" ]; then
  "$rcbench" history add "$out" --db "$history" ${RCB_MACHINE:+--machine "$RCB_MACHINE"} ||
    echo "ci-gate: warning: could not record $out in $history (the gate's verdict below stands)" >&2
fi

echo
"$rcbench" compare "$baseline" "$out"
status=$?
if [ "$status" -eq 0 ]; then
  # Unjudged cells: compare passes them, the gate does not, unless allowed.
  unjudged=$("$rcbench" compare --format json "$baseline" "$out" |
    python3 -c 'import json, sys
for r in json.load(sys.stdin)["benchmarks"]:
    if r["verdict"] == "insufficient data": print(r["name"])')
  allowed=$( [ -f "$allow" ] && sed -e 's/#.*//' "$allow" | awk 'NF { print $1 }')
  for cell in $unjudged; do
    if ! grep -qxF "$cell" <<<"$allowed"; then
      echo "UNJUDGED: $cell: its counts vary too much to judge; make them repeat, or list it in $(basename "$allow") with the reason"
      status=1
    fi
  done
fi
if [ -n "$md" ] && [ "$status" -le 1 ]; then
  # The same judgement again, as Markdown; compare reads files only, so it is cheap.
  mkdir -p "$(dirname "$md")"
  "$rcbench" compare --format md "$baseline" "$out" >"$md"
fi
echo
case $status in
  0) echo "ci-gate: PASS (no instruction-count regression against $(basename "$baseline"))" ;;
  1) echo "ci-gate: FAIL: see the REGRESSION/FAILED lines above. If the change is intended, refresh the baseline: scripts/ci-gate.sh --update" ;;
  *) echo "ci-gate: compare could not run (status $status)" ;;
esac
exit $status
