#!/usr/bin/env python3
"""The false-alarm and detection rates of docs/regressions.md, from the twenty `rcbench ab` files here
(any python3):

    python3 results/dev-vm-2cpu-xeon/ab-campaign/analyse.py

aa-N: A against A (one binary, both sides); ab-N: A against B, where B is A plus one acquire load of
the count before each of `atomic`'s decref RMWs. Every file: the headline suite at 1 and 2 threads
(65 cells), 15 rounds, --min-time 0.02, --seed 100N; A/B and A/A alternated, ab-1 first.
"""
import collections
import glob
import gzip
import json
import os
import statistics as st

HERE = os.path.dirname(os.path.abspath(__file__))


def runs(kind):
    paths = glob.glob(os.path.join(HERE, f"{kind}-*.json.gz"))
    for p in sorted(paths, key=lambda p: int(os.path.basename(p).split("-")[1].split(".")[0])):
        with gzip.open(p, "rt") as f:
            yield os.path.basename(p), json.load(f)


def verdicts(doc):
    return collections.Counter(c["verdict"] for c in doc["cells"])


for kind in ("aa", "ab"):
    total = collections.Counter()
    false_runs = 0
    flagged = collections.Counter()
    ratios = collections.defaultdict(list)
    n = 0
    for name, doc in runs(kind):
        n += 1
        v = verdicts(doc)
        total.update(v)
        wrong = [c["name"] for c in doc["cells"] if c["verdict"] in ("REGRESSION", "IMPROVEMENT")
                 and (kind == "aa" or "/atomic/" not in c["name"])]
        false_runs += bool(wrong)
        print(f"{name}: {dict(v)}" + (f"  false: {wrong}" if wrong else ""))
        for c in doc["cells"]:
            if "/atomic/" in c["name"]:
                flagged[c["name"]] += c["verdict"] == "REGRESSION"
                ratios[c["name"]].append(c["median_ratio"])
    judged = sum(total.values())
    print(f"{kind}: {n} runs, {judged} judgements {dict(total)}; runs with a false verdict: {false_runs}")
    if kind == "ab":
        for cell in sorted(flagged):
            r = ratios[cell]
            print(f"  {cell:32s} REGRESSION in {flagged[cell]:2d}/{n}; change median {st.median(r) - 1:+.1%}, "
                  f"range {min(r) - 1:+.1%} .. {max(r) - 1:+.1%}")
