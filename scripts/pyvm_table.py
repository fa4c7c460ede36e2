#!/usr/bin/env python3
"""Prints the README's pyvm table from an rcbench results file: for gil, atomic, biased,
cpython_ft and cpython_ft313 on each pyvm_* program, the cost relative to gil at one thread, the two-thread over
one-thread time, and refcount operations per bytecode executed.

    build/release/harness/rcbench run --workload pyvm_fib,...,pyvm_dimuon \\
        --strategy gil,atomic,biased,cpython_ft,cpython_ft313 --threads 1,2 --out results/pyvm.json
    python3 scripts/pyvm_table.py results/pyvm.json

Columns:
  vs gil @1    median ns_per_item at 1 thread over gil's (same program, same file).
  2T/1T        median ns_per_item at 2 threads over 1 thread: each thread does the full work
               (weak scaling), so 1.00 is perfect scaling and gil's ideal is 2.00.
  rc ops/bc    incref and decref calls per bytecode, from the untimed counted pass: the
               strategy's per-item counters that count a call (atomic_rmw; owner_ops +
               shared_ops; skipped_ops, the immortal checks) over the workload's reported
               bytecodes_per_item. gil counts none of its own; it makes the calls atomic makes
               (neither knows immortal or deferred objects), so its column repeats atomic's.
               Stack references that cpython_ft leaves uncounted make no call and do not
               appear: that difference is the point of the column (cpython_ft313, like 3.13t,
               counts every stack reference; its immortal ones show as skipped_ops).
  collections  cpython_ft's stop-the-world collections per million items at 1 and 2 threads
               (counted pass), scheduled by CPython's allocation rule (docs/pyvm.md).
Standard library only (no matplotlib), so any python3 runs it.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rcresults  # noqa: E402

STRATEGIES = ["gil", "atomic", "biased", "cpython_ft", "cpython_ft313"]
CALL_COUNTERS = ["atomic_rmw", "owner_ops", "shared_ops", "skipped_ops"]


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a is not None and b else "—"


def rc_ops_per_bytecode(results: rcresults.Results, workload: str, strategy: str) -> str:
    source = "atomic" if strategy == "gil" else strategy
    cell = results.get(workload, source, 1)
    if cell is None:
        return "—"
    bytecodes = cell.median("bytecodes_per_item")
    calls = [cell.median(k) for k in CALL_COUNTERS]
    calls = [c for c in calls if c is not None]
    if not bytecodes or not calls:
        return "—"
    return f"{sum(calls) / bytecodes:.2f}"


def per_million(cell, key: str) -> str:
    v = cell.median(key) if cell else None
    return "—" if v is None else f"{v * 1e6:.3g}"


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    results = rcresults.load(argv[1:], lambda msg: print(msg, file=sys.stderr))
    workloads = [w for w in results.workloads() if w.startswith("pyvm_")]
    if not workloads:
        print("no pyvm_* cells in the file", file=sys.stderr)
        return 1
    header = ["program", "bytecodes/item"]
    for s in STRATEGIES:
        header += [f"{s} vs gil @1", f"{s} 2T/1T", f"{s} rc ops/bc"]
    header += ["cpython_ft collections/M items @1, @2"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for w in workloads:
        gil1 = results.get(w, "gil", 1)
        gil_ns = gil1.median("ns_per_item") if gil1 else None
        any_cell = next((results.get(w, s, 1) for s in STRATEGIES if results.get(w, s, 1)), None)
        bc = any_cell.median("bytecodes_per_item") if any_cell else None
        row = [w, f"{bc:.1f}" if bc else "—"]
        for s in STRATEGIES:
            one, two = results.get(w, s, 1), results.get(w, s, 2)
            ns1 = one.median("ns_per_item") if one else None
            ns2 = two.median("ns_per_item") if two else None
            row += [ratio(ns1, gil_ns), ratio(ns2, ns1), rc_ops_per_bytecode(results, w, s)]
        row.append(", ".join(per_million(results.get(w, "cpython_ft", t), "collections") for t in (1, 2)))
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
