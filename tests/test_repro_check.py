"""Tests for scripts/repro-check: its counts and listing on two fixture files whose differences are
known, its fallback for files without intervals, and its run mode with a fake rcbench.

    python3 tests/test_repro_check.py        (any python3; no matplotlib needed)

tests/data/rcbench2-base.json and rcbench2-new.json are make_results(intervals=True) output from
test_plot_results.py, seed 3, with three benchmarks changed in NEW: shared_list/atomic/threads:1
×1.3, hot_object/biased/threads:2 ×0.8, and hot_object/atomic/threads:1 ×1.03 with ±0.5%
intervals in both files (within 5%, yet the intervals do not overlap). Everything else is equal.
"""

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(os.path.dirname(HERE), "scripts", "repro-check")
BASE = os.path.join(HERE, "data", "rcbench2-base.json")
NEW = os.path.join(HERE, "data", "rcbench2-new.json")
sys.path.insert(0, HERE)


def run(*args, env=None):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, **(env or {})))


def row(stdout, label):
    line = next(x for x in stdout.splitlines() if x.startswith(label))
    return line[len(label):].split()


class FilesModeTest(unittest.TestCase):
    def test_counts_per_group_and_the_disagreeing_benchmarks(self):
        p = run("--files", BASE, NEW)
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout
        self.assertIn("intervals: 95% intervals of the median", out)
        # benchmarks, within 5%, overlapping, p90, max: 6 at 1 thread (plain, atomic, biased × 2
        # workloads), 4 at 2 threads (plain runs at 1 thread only).
        # ... then how often A's repeat interval holds B's median, and B's A's: with 5 repetitions
        # a cell has none (it needs 9), so nothing is counted, and the output says why.
        self.assertEqual(row(out, "1 thread"), ["6", "5", "(83%)", "4", "(67%)", "30.0%", "30.0%", "–", "–"])
        self.assertEqual(row(out, "2+ threads"), ["4", "3", "(75%)", "3", "(75%)", "20.0%", "20.0%", "–", "–"])
        self.assertIn("20 repeat interval(s) missing (fewer than 9 repetitions)", out)
        self.assertIn("3 benchmark(s) disagree:", out)
        listed = [x.split()[0] for x in out.split("disagree:")[1].strip().splitlines()]
        self.assertEqual(listed, ["shared_list/atomic/threads:1", "hot_object/biased/threads:2",
                                  "hot_object/atomic/threads:1"])  # largest difference first
        self.assertRegex(out, r"hot_object/atomic/threads:1 .* \+3\.0%  \(intervals apart: A ")
        self.assertRegex(out, r"shared_list/atomic/threads:1 .* \+30\.0%  \(beyond 5%; intervals apart")

    def test_a_file_against_itself_agrees_everywhere(self):
        p = run("--files", BASE, BASE)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(row(p.stdout, "1 thread")[:5], ["6", "6", "(100%)", "6", "(100%)"])
        self.assertIn("every benchmark agrees", p.stdout)

    def test_old_files_without_intervals_use_the_repetitions_range(self):
        from test_plot_results import make_results
        with tempfile.TemporaryDirectory() as d:
            paths = []
            for seed in (1, 2):
                paths.append(os.path.join(d, f"old{seed}.json"))
                with open(paths[-1], "w") as f:
                    json.dump(make_results(["plain", "atomic"], ["shared_list"], [1, 2], seed=seed), f)
            p = run("--files", *paths)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("fastest to slowest repetition (no intervals in the files)", p.stdout)
        self.assertEqual(row(p.stdout, "1 thread")[0], "2")
        self.assertEqual(row(p.stdout, "2+ threads")[0], "1")

    def test_repetitions_the_run_left_out_are_read_by_no_consumer(self):
        """Disturbed repetitions (in_statistics false) three times slower than the clean ones: the
        plots' loader (rcresults) and repro-check read only the repetitions the run's statistics
        read, so a file with them agrees with the same file without them."""
        sys.path.insert(0, os.path.join(os.path.dirname(HERE), "scripts"))
        import rcresults
        with open(BASE) as f:
            doc = json.load(f)
        name = "shared_list/atomic/threads:1"
        clean = [e for e in doc["benchmarks"] if e.get("run_name") == name and e.get("run_type") == "iteration"]
        self.assertTrue(clean)
        for e in clean[:4]:
            bad = json.loads(json.dumps(e))
            bad["ns_per_item"] *= 3
            bad["real_time"] *= 3
            bad.setdefault("rcbench", {})["repetition"] = {"disturbed": True, "in_statistics": False}
            doc["benchmarks"].append(bad)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "disturbed.json")
            with open(path, "w") as f:
                json.dump(doc, f)
            complaints = []
            loaded = rcresults.load([path], lambda p, why: complaints.append(why))
            original = rcresults.load([BASE], lambda p, why: complaints.append(why))
            p = run("--files", BASE, path)
        self.assertEqual(complaints, [])
        key = ("shared_list", "atomic", 1)
        self.assertEqual(loaded.cells[key].left_out, 4)
        self.assertEqual(len(loaded.cells[key].reps), len(original.cells[key].reps))
        self.assertEqual(loaded.cells[key].median("ns_per_item"), original.cells[key].median("ns_per_item"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("every benchmark agrees", p.stdout)

    def test_the_canary_normalised_figure_cancels_a_slower_clock(self):
        """B is A with every time 10% longer and the same cycles per item, as when the whole VM ran
        at a 10% slower clock: in ns nothing agrees, in cycles everything does."""
        with open(BASE) as f:
            doc = json.load(f)
        scaled = {"ns_per_item", "ns_per_item_ci95_low", "ns_per_item_ci95_high", "real_time"}

        def slower(node):
            if isinstance(node, dict):
                return {k: v * 1.1 if k in scaled and isinstance(v, (int, float)) else slower(v)
                        for k, v in node.items()}
            return [slower(v) for v in node] if isinstance(node, list) else node
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "slow-clock.json")
            with open(path, "w") as f:
                json.dump(slower(doc), f)
            ns = run("--files", BASE, path)
            cycles = run("--files", BASE, path, "--figure", "cycles_per_item")
        self.assertEqual(ns.returncode, 0, ns.stderr)
        self.assertEqual(row(ns.stdout, "1 thread")[1:3], ["0", "(0%)"])
        self.assertEqual(cycles.returncode, 0, cycles.stderr)
        self.assertIn("median cycles_per_item (canary-normalised)", cycles.stdout)
        self.assertIn("every benchmark agrees", cycles.stdout)

    def test_holds_counts_the_repeat_interval_not_the_interval_of_the_median(self):
        """Three cells of 11 repetitions 100..110 in A, each with a 95% repeat interval (ranks 1
        and 11 at n = 11: 100..110). In B shared_list's are 3% higher (median 108.15: inside A's
        repeat interval) and hot_object's 15% higher (outside). fib's A states its own repeat
        interval in the summary (90..95), which repro-check reads instead of computing one, so B's
        equal median 105 lies outside it."""
        def doc(shift, stated=None):
            benchmarks = []
            for w, factor in (("shared_list", shift[0]), ("hot_object", shift[1]), ("fib", shift[2])):
                name = f"{w}/atomic/threads:1"
                summary = {"ns_per_item_pi95_low": stated[0], "ns_per_item_pi95_high": stated[1]} \
                    if stated and w == "fib" else {}
                meta = {"strategy": "atomic", "workload": w, "threads": 1, "summary": summary,
                        "repetition": {"in_statistics": True}}
                for r in range(11):
                    ns = (100 + r) * factor
                    benchmarks.append({"name": name, "run_name": name, "run_type": "iteration",
                                       "repetition_index": r, "threads": 1, "iterations": 10,
                                       "real_time": ns, "cpu_time": ns, "time_unit": "ns",
                                       "ns_per_item": ns, "rcbench": meta})
            return {"context": {"rcbench": {}}, "benchmarks": benchmarks}
        with tempfile.TemporaryDirectory() as d:
            a, b = os.path.join(d, "a.json"), os.path.join(d, "b.json")
            with open(a, "w") as f:
                json.dump(doc((1, 1, 1), stated=(90, 95)), f)
            with open(b, "w") as f:
                json.dump(doc((1.03, 1.15, 1)), f)
            p = run("--files", a, b)
        self.assertEqual(p.returncode, 0, p.stderr)
        # 3 cells; A holds B for shared_list only; B holds A for shared_list and fib.
        self.assertEqual(row(p.stdout, "1 thread")[7:], ["1", "(33%)", "2", "(67%)"])
        self.assertNotIn("repeat interval(s) missing", p.stdout)

    def test_a_figure_it_does_not_know_exits_2(self):
        p = run("--files", BASE, NEW, "--figure", "items_per_second")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--figure takes one of: ns_per_item, cycles_per_item", p.stderr)

    def test_bad_usage_and_unreadable_files_exit_2(self):
        self.assertEqual(run("--files", BASE).returncode, 2)
        p = run("--files", BASE, os.path.join(HERE, "data", "absent.json"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("no such file", p.stderr)
        p = run("--files", BASE, os.path.join(HERE, "data", "instructions-elsewhere.json"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("no measured benchmark in common", p.stderr)

    def test_a_strong_scaling_file_against_a_weak_one_exits_2(self):
        with open(BASE) as f:
            strong = json.load(f)
        strong["context"]["rcbench"]["scaling"] = "strong"
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "strong.json")
            with open(path, "w") as f:
                json.dump(strong, f)
            p = run("--files", BASE, path)
        self.assertEqual(p.returncode, 2)
        self.assertIn("different scalings (rcbench2-base.json: weak; strong.json: strong)", p.stderr)


# Copies BASE on its first call and NEW on its second, recording its arguments.
FAKE = textwrap.dedent("""\
    #!/usr/bin/env bash
    echo "$*" >> "$FAKE_LOG"
    out=""; args=("$@")
    for ((i = 0; i < ${#args[@]}; i++)); do [[ ${args[i]} == --out ]] && out=${args[i+1]}; done
    [[ -n ${FAKE_FAIL:-} ]] && exit 3
    if [[ -s $FAKE_COUNT ]]; then cp "$FAKE_NEW" "$out"; else cp "$FAKE_BASE" "$out"; echo 1 > "$FAKE_COUNT"; fi
""")


class RunModeTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="rcbench_repro_test_")
        self.fake = os.path.join(self.tmp.name, "rcbench")
        with open(self.fake, "w") as f:
            f.write(FAKE)
        os.chmod(self.fake, 0o755)
        self.log = os.path.join(self.tmp.name, "log")
        self.env = {"RCBENCH": self.fake, "FAKE_LOG": self.log, "FAKE_BASE": BASE, "FAKE_NEW": NEW,
                    "FAKE_COUNT": os.path.join(self.tmp.name, "count"), "TMPDIR": self.tmp.name}

    def tearDown(self):
        self.tmp.cleanup()

    def test_runs_twice_with_the_options_then_compares(self):
        p = run("--workloads", "hot_object", "--threads", "1,2", env=self.env)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(self.log) as f:
            calls = f.read().splitlines()
        self.assertEqual(len(calls), 2)
        for call, name in zip(calls, ("a.json", "b.json")):
            self.assertRegex(call, rf"^run --out .*rcbench-repro-[^/]+/{name} --workloads hot_object --threads 1,2$")
        self.assertIn("3 benchmark(s) disagree:", p.stdout)

    def test_a_run_that_writes_nothing_exits_with_its_status(self):
        p = run(env=dict(self.env, FAKE_FAIL="1"))
        self.assertEqual(p.returncode, 3)
        self.assertIn("run A exited with status 3 and wrote no results", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
