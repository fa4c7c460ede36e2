#!/usr/bin/env python3
"""The figures of docs/measurement.md, section 4, "Do the intervals hold across runs?", from the
files here (any python3):

    python3 results/dev-vm-2cpu-xeon/across-runs/analyse.py

Pairs: first-1/2 (1-thread cells on CPU 0, commit 56b93df), rot-1/2 (1-thread repetitions rotated
over CPUs 0 and 1), norand-1/2 (as rot, both under `setarch -R`); repeat1-3 a/b (three pairs of
default runs at the commit that added the repeat interval and 9 repetitions at least);
fresh1-3 a/b (three pairs with `--processes fresh`, each round in a new process). For each of
the first three pairs: the level shift (median over cells of B/A), how often one run's interval of
the median holds the other's median in ns and in cycles per item, and the same after rejecting
repetitions whose canary (calibrated clock) moved across them; for each run: how much the
machine's speed moved from round to round. For all nine pairs: how often the 95% repeat interval
(rcresults.repeat_pi95, as the harness writes it) holds the other run's median. Last, a simulation:
how often one run's interval of the median, and its repeat interval, hold a second run's median
when every sample is independent and identically distributed.
"""
import gzip
import json
import os
import statistics as st
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "scripts"))
import rcresults  # noqa: E402


def entries(name):  # noqa: D103
    with gzip.open(os.path.join(HERE, name + ".json.gz"), "rt") as f:
        for b in json.load(f)["benchmarks"]:
            if b.get("run_type") == "iteration" and not b.get("error_occurred") \
                    and b["rcbench"]["repetition"]["in_statistics"]:
                yield b


def samples(name, figure, canary_bound=None):
    cells = {}
    for b in entries(name):
        gb, ga = b.get("ghz_before"), b.get("ghz_after")
        if canary_bound is not None and (not gb or not ga or abs(ga / gb - 1) > canary_bound):
            continue
        if b.get(figure):
            cells.setdefault((b["run_name"], b["threads"]), []).append(b[figure])
    return cells


def holds(a, b, threads):
    n = held = within = 0
    for k, va in a.items():
        if k[1] != threads or k not in b:
            continue
        ia, ib = rcresults.median_ci95(va), rcresults.median_ci95(b[k])
        if not ia or not ib:
            continue
        ma, mb = st.median(va), st.median(b[k])
        n += 1
        held += (ia[0] <= mb <= ia[1]) + (ib[0] <= ma <= ib[1])
        within += abs(mb / ma - 1) <= 0.05
    return f"{threads}T: n={n} within 5% {within / n:.0%}, holds (both ways) {held / (2 * n):.0%}"


def round_factors(name):
    """Per round, the median over cells of (sample / that cell's median)."""
    cells = {}
    for b in entries(name):
        cells.setdefault(b["run_name"], []).append((b["repetition_index"], b["ns_per_item"]))
    rounds = {}
    for v in cells.values():
        m = st.median(x for _, x in v)
        for i, x in v:
            rounds.setdefault(i, []).append(x / m)
    return [st.median(r) for _, r in sorted(rounds.items()) if len(r) >= 20]


for pair in ("first", "rot", "norand"):
    a_ns, b_ns = samples(pair + "-1", "ns_per_item"), samples(pair + "-2", "ns_per_item")
    for t in (1, 2):
        shift = st.median(st.median(b_ns[k]) / st.median(v) for k, v in a_ns.items() if k in b_ns and k[1] == t)
        print(f"{pair}: {t}T level shift B/A {shift:.3f}")
    for figure in ("ns_per_item", "cycles_per_item"):
        a, b = samples(pair + "-1", figure), samples(pair + "-2", figure)
        print(f"{pair}: {figure:16s}", holds(a, b, 1), "|", holds(a, b, 2))
    for bound in (0.05, 0.03, 0.02):
        a, b = samples(pair + "-1", "ns_per_item", bound), samples(pair + "-2", "ns_per_item", bound)
        print(f"{pair}: ns, canary moved <= {bound:.0%}", holds(a, b, 1), "|", holds(a, b, 2))
    for run in ("-1", "-2"):
        f = round_factors(pair + run)
        print(f"{pair}{run}: {len(f)} rounds, round factor {min(f):.3f}-{max(f):.3f}, sd {st.stdev(f):.1%}")


def repeat_holds(a, b, threads):
    n = held = missing = 0
    for k, va in a.items():
        if k[1] != threads or k not in b:
            continue
        for x, y in ((va, b[k]), (b[k], va)):
            pi = rcresults.repeat_pi95(x, len(x))
            if pi is None:
                missing += 1
                continue
            n += 1
            held += pi[0] <= st.median(y) <= pi[1]
    return f"{threads}T: holds {held}/{n} ({held / n:.0%})" + (f", {missing} without one" if missing else "")


print()
print("repeat interval (95%, for a repeat run of as many repetitions), both ways:")
PAIRS = [(p, p + "-1", p + "-2") for p in ("first", "rot", "norand")] + \
        [(f"repeat{i}", f"repeat{i}-a", f"repeat{i}-b") for i in (1, 2, 3)] + \
        [(f"fresh{i}", f"fresh{i}-a", f"fresh{i}-b") for i in (1, 2, 3)]
for pair, ra, rb in PAIRS:
    for figure in ("ns_per_item", "cycles_per_item"):
        a, b = samples(ra, figure), samples(rb, figure)
        print(f"{pair:8s} {figure:16s}", repeat_holds(a, b, 1), "|", repeat_holds(a, b, 2))

print()
print("simulation: two independent runs of n samples each (10 + exponential), 20,000 pairs per n:")
import random  # noqa: E402
rng = random.Random(20261208)
for n in (6, 9, 12, 15, 20, 30):
    ci_held = pi_held = 0
    for _ in range(20000):
        a = [10 + rng.expovariate(1) for _ in range(n)]
        mb = st.median(10 + rng.expovariate(1) for _ in range(n))
        ci, pi = rcresults.median_ci95(a), rcresults.repeat_pi95(a, n)
        ci_held += bool(ci) and ci[0] <= mb <= ci[1]
        pi_held += bool(pi) and pi[0] <= mb <= pi[1]
    print(f"n = {n:2d}: the interval of the median holds the other's median {ci_held / 20000:.1%},"
          f" the repeat interval {pi_held / 20000:.1%}" + ("" if n >= 9 else " (none below 9)"))
