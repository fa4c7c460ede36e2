"""Tests for scripts/plot_results.py: the plots, report.md and report.html exist for good input, every
image fits a screen, and bad input gets a one-line reason on stderr and the documented exit status.

    /usr/bin/python3 tests/test_plot_results.py      (any Python that can import matplotlib)

The results files are synthetic, in the shape `rcbench run --out` writes, so the test needs no
build and no timing; make_results() can also feed the plotter by hand to look at a 16-thread
matrix on a 2-core machine.
"""

import contextlib
import io
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.join(os.path.dirname(HERE), "scripts")
sys.path.insert(0, SCRIPTS)

try:
    import matplotlib  # noqa: F401
    HAVE_MATPLOTLIB = True
except ImportError:
    HAVE_MATPLOTLIB = False
NO_MATPLOTLIB = "matplotlib is not importable by this Python; install it with: apt-get install python3-matplotlib"

# The overview's grids, then each family's figures (STRATEGY_SHAPE's strategies are seeds and one
# unknown, in "other"), then cow.png. comparison.png needs two files with benchmarks in common, so the
# one-file tests do not expect it.
OVERVIEW_PLOTS = ["overhead_heatmap.png", "scaling_heatmap.png"]
ALL_PLOTS = OVERVIEW_PLOTS + ["throughput-seeds.png", "overhead-seeds.png", "counters-seeds.png",
                              "throughput-other.png", "overhead-other.png", "counters-other.png", "cow.png"]
# The workloads of the `all` suite (workloads/registry.h and the pyvm ones), for a full-size matrix.
SUITE_WORKLOADS = ["shared_list", "private_churn", "hot_object", "fib", "dimuon", "matmul_lists", "handoff",
                   "fork_cow", "blocked_owner", "pyvm_dimuon", "pyvm_fib", "pyvm_private_iter",
                   "pyvm_producer_consumer", "pyvm_shared_call", "pyvm_shared_iter", "pyvm_shared_iter_imm",
                   "pyvm_tuple_tree"]
MAX_WIDTH_PX, MAX_HEIGHT_PX = 1600, 2000

# Cost at 1 thread relative to plain, and the fraction lost per added thread: enough spread that
# every plot has something to show.
STRATEGY_SHAPE = {
    "plain": (1.0, 0.0), "gil": (1.1, 0.9), "atomic": (2.5, 0.35), "biased": (1.3, 0.05),
    "buffered": (1.8, 0.1), "frozen": (1.05, 0.02), "remote": (2.0, 0.2), "my_new_idea": (1.5, 0.1),
}
# The strategies being added in issues 14 and 15, shaped so their lines part: every family then
# has a member that scales and one that does not.
FAMILY_STRATEGY_SHAPE = {
    "remote_padded": (2.2, 0.25), "immortal": (1.02, 0.01), "deferred": (1.2, 0.03), "cpython_ft": (1.4, 0.04),
    "sticky": (2.6, 0.3), "sharded": (3.0, 0.01), "refcache": (1.6, 0.005), "libstdcxx": (2.5, 0.35),
    "boost_intrusive": (2.4, 0.4),
}
# Every family, and one strategy no family lists: 17 strategies.
MANY_STRATEGIES = ["plain", "gil", "atomic", "buffered", "biased", "frozen", "remote", "remote_padded",
                   "immortal", "deferred", "cpython_ft", "sticky", "sharded", "refcache", "libstdcxx",
                   "boost_intrusive", "my_new_idea"]
STRATEGY_COUNTERS = {
    "atomic": {"atomic_rmw": 2.0},
    "biased": {"owner_ops": 1.9, "shared_ops": 0.1, "queued": 0.001, "merged": 0.001},
    "buffered": {"log_rotations": 0.0005, "log_entries": 2.0, "epochs": 0.0001, "delayed_frees": 0.4,
                 "peak_pending_frees": 12000},
    "frozen": {"skipped_ops": 1.5, "frozen_objects": 250000},
    "remote": {"atomic_rmw": 2.0, "slot_pages": 64},
    "gil": {"gil_switches": 0.0, "gil_waits": 0.0},  # zero: must be left out of the counters plot
    "my_new_idea": {"widgets": 0.25},
}


PROBE = {"plain_pair_ns": 0.5, "atomic_pair_ns": 10.0, "contended_pair_ns": 50.0,
         "separate_lines_pair_ns": 10.5, "cpus": [0, 1]}


def make_results(strategies, workloads, threads, seed=7, host="synthetic", errored=(),
                 cow_names=("cow_kib_per_child", "cow_kib_per_mib"), intervals=False, slower=None,
                 short_of_precision=(), scaling=None, suite=None, no_interval=()):
    """A results file's content: 5 repetitions and 4 aggregates per benchmark, like the harness.
    `intervals` writes the schema after the runner rewrite: ns units, 95% intervals of the median,
    precision verdicts and the hardware probe. `slower` maps a benchmark name to a factor its
    times are multiplied by; `short_of_precision` names benchmarks that ran out of budget.
    `scaling` ("weak" or "strong") writes `rcbench run --scaling`'s fields; None leaves them out,
    as files written before the option. Under strong scaling the lcm of `threads` units of work are
    divided among the threads, so ns_per_item, the wall time per item of the whole, falls with t.
    `suite` writes options.suite, which files before the harness recorded it lack. `no_interval` names
    benchmarks whose interval is null, as the harness writes when a run's repetitions were too few."""
    slower = slower or {}
    units = math.lcm(*threads)
    rng = random.Random(seed)
    benchmarks = []
    for w_i, w in enumerate(workloads):
        for s in strategies:
            cost, loss = STRATEGY_SHAPE.get(s) or FAMILY_STRATEGY_SHAPE.get(s, (1.5, 0.1))
            for t in ([1] if s == "plain" else threads):
                name = f"{w}/{s}/threads:{t}"
                meta = {"strategy": s, "workload": w, "threads": t, "size": "quick", "placement": "compact",
                        "bound_cpus": list(range(t)), "oversubscribed": t > 8}
                if scaling:
                    meta.update(scaling=scaling, units=units if scaling == "strong" else t)
                # At the same cost per item, t threads sharing a fixed total finish it in 1/t of the
                # time one thread's full share takes; ns_per_item and items/s count the whole total.
                shares = t if scaling == "strong" else 1
                if name in errored:
                    benchmarks.append({"name": name, "run_name": name, "run_type": "iteration",
                                       "repetition_index": 0, "threads": t, "error_occurred": True,
                                       "error_message": "checksum mismatch: got 0x1, expected 0x2",
                                       "rcbench": meta})
                    continue
                reps = []
                for r in range(5):
                    ns = (10 + 5 * w_i) * cost * (1 + loss * (t - 1)) * rng.uniform(0.95, 1.08)
                    ns *= slower.get(name, 1.0) / shares
                    rep = {"name": name, "run_name": name, "run_type": "iteration", "repetition_index": r,
                           "repetitions": 5, "threads": t, "iterations": 100, "real_time": ns * 1e-3,
                           "cpu_time": ns * 1e-3, "time_unit": "ms", "ns_per_item": ns,
                           "cycles_per_item": ns * 3.0, "items_per_second": t / shares * 1e9 / ns,
                           "ghz_before": 3.0, "ghz_after": 3.0, "items_per_thread": 1000.0, "checksum_ok": 1.0}
                    if intervals:  # real figures in ns, CPU summed over the worker threads
                        rep.update(real_time=ns * 1000, cpu_time=ns * 1000 * t, time_unit="ns")
                    rep.update(STRATEGY_COUNTERS.get(s, {}))
                    if w == "fork_cow":
                        kib = 16000 * (0.02 if s == "frozen" else 1.0) * rng.uniform(0.98, 1.02)
                        rep.update({cow_names[0]: kib, cow_names[1]: kib / 16})
                    reps.append(rep)
                summary = {"repetitions": 5, "median_ns_per_item": reps[2]["ns_per_item"], "cv": 0.03,
                           "unstable": s == "gil", "worst_frequency_drift": 0.07 if t == 2 else 0.01,
                           "frequency_drift": t == 2}
                median_extra = {}
                if intervals:
                    # With 5 repetitions the distribution-free interval of the median is the range.
                    times_ns = sorted(r["ns_per_item"] for r in reps)
                    lo, hi, med = times_ns[0], times_ns[-1], times_ns[2]
                    short = name in short_of_precision
                    median_extra = {"ns_per_item_ci95_low": lo, "ns_per_item_ci95_high": hi}
                    if name in no_interval:
                        median_extra = {"ns_per_item_ci95_low": None, "ns_per_item_ci95_high": None}
                    summary.update(median_extra, median_ns_per_item=med, disturbed_repetitions=0,
                                   ci_half_width=(hi - lo) / 2 / med, precision_reached=not short,
                                   not_reached_why="budget" if short else None, incomplete=False)
                for r_i, rep in enumerate(reps):
                    repetition = {"iterations": 100}
                    if intervals:
                        repetition.update(disturbed=False, reasons=[])
                    rep["rcbench"] = dict(meta, summary=summary, repetition=repetition)
                benchmarks += reps
                for agg in ("mean", "median", "stddev", "cv"):
                    entry = dict(reps[2], name=f"{name}_{agg}", run_type="aggregate", aggregate_name=agg,
                                 rcbench=dict(meta, summary=summary))
                    if agg == "median":
                        entry.update(median_extra)
                    benchmarks.append(entry)
    context = {
        "date": "2026-11-22T00:03:24+00:00", "host_name": host, "num_cpus": 16, "mhz_per_cpu": 2100,
        "rcbench": {
            "schema": "rcbench/1", "host": host,
            "topology": {"cpu_model": "Synthetic CPU @ 3.00GHz", "packages": 1, "cores": 16, "pus": 16,
                         "numa_nodes": 1, "allowed_cpuset": "0-15",
                         "caches": [{"level": 3, "size_kib": 32768, "count": 1, "shared_by_pus": 16}]},
            "frequency_control": {"state": "unavailable", "why": "no cpufreq in this VM", "changed": [],
                                  "restored": True},
            "calibration_ghz": {"0": 2.98, "1": 3.02},
            "build": {"compiler": "gcc 12.2.0", "build_type": "Release", "cxx_flags": "-O3 -DNDEBUG",
                      "allocator": "mimalloc", "git_commit": "0123456789abcdef0123", "git_dirty": True},
            "options": {"size": "quick", "repetitions": 5, "min_time_s": 0.05, "placement": "compact",
                        "threads": list(threads), "workloads": list(workloads), "strategies": list(strategies),
                        "cv_threshold": 0.05, "drift_threshold": 0.05, "interleaved_repetitions": True},
            "failures": [f"{n}: checksum mismatch" for n in errored],
            "warnings": ["load average 3.1: other work adds noise"],
            "notes": [],
        },
    }
    if suite:
        context["rcbench"]["options"]["suite"] = suite
    if scaling:
        context["rcbench"].update(scaling=scaling, **({"strong_units": units} if scaling == "strong" else {}))
    if intervals:
        context["rcbench"].update(
            schema="rcbench/2", probe=dict(PROBE), interrupted=False, metric="ns_per_item")
        context["rcbench"]["options"].update(precision=0.02, max_time_s=60)
    return {"context": context, "benchmarks": benchmarks}


class PlotCase(unittest.TestCase):
    """A temp dir, the plotter run in this process, and readers of what it made."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="rcbench_plot_test_")
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, content):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(content if isinstance(content, str) else json.dumps(content))
        return path

    def plot(self, *args):
        """(exit status, stdout, stderr) of the plotter, run in this process: matplotlib loads once."""
        import plot_results
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = plot_results.main(list(args))
            except SystemExit as e:  # argparse
                status = e.code
        return status, out.getvalue(), err.getvalue()

    def assert_made(self, out_dir, names):
        for name in names + ["report.md", "report.html"]:
            path = os.path.join(out_dir, name)
            self.assertTrue(os.path.isfile(path), f"{name} missing")
            self.assertGreater(os.path.getsize(path), 1000 if name.endswith(".png") else 100, f"{name} too small")

    def report(self, out_dir):
        with open(os.path.join(out_dir, "report.md"), encoding="utf-8") as f:
            return f.read()


@unittest.skipUnless(HAVE_MATPLOTLIB, NO_MATPLOTLIB)
class PlotResultsTest(PlotCase):
    def test_full_matrix_draws_every_plot_and_the_report(self):
        strategies = list(STRATEGY_SHAPE)
        workloads = ["shared_list", "private_churn", "fork_cow"]
        path = self.write("r.json", make_results(strategies, workloads, [1, 2, 4, 8, 16],
                                                 errored=["shared_list/remote/threads:16"]))
        out_dir = os.path.join(self.dir, "out")
        status, _, err = self.plot(path, "-o", out_dir)
        self.assertEqual(status, 0, err)
        self.assertEqual(err, "")
        self.assert_made(out_dir, ALL_PLOTS)
        text = self.report(out_dir)
        for name in ALL_PLOTS:
            self.assertIn(f"]({name})", text)
        for fact in ("Synthetic CPU", "unavailable", "no cpufreq", "gcc 12.2.0", "mimalloc", "`0123456789ab`",
                     "dirty", "2026-11-22", "2.98–3.02 GHz", "## Medians", "checksum mismatch",
                     "load average 3.1", "my_new_idea", "unstable", "drift 7%", "suite not recorded"):
            self.assertIn(fact, text)
        # The overview comes first: the two grids, then the ranking, then the families.
        images = [line for line in text.splitlines() if line.startswith("![")]
        self.assertEqual([i.split("(")[-1].rstrip(")") for i in images[:2]], OVERVIEW_PLOTS)
        self.assertLess(text.index("### Ranking per workload"), text.index("## Family: seed strategies"))
        self.assertLess(text.index("## Family: seed strategies"), text.index("## Family: other"))

    def test_copy_on_write_figures_found_by_either_naming(self):
        names = ("kib_dirtied_per_child", "kib_dirtied_per_graph_mib")
        path = self.write("cow.json", make_results(["plain", "frozen"], ["fork_cow"], [1], cow_names=names))
        out_dir = os.path.join(self.dir, "out")
        status, _, err = self.plot(path, "-o", out_dir)
        self.assertEqual(status, 0, err)
        self.assert_made(out_dir, ["cow.png", "counters-seeds.png"])
        self.assertRegex(self.report(out_dir), r"plain dirties the most \([\d.]+ MiB dirtied per child\) and frozen")

    def test_missing_plain_says_so_and_draws_the_rest(self):
        path = self.write("noplain.json", make_results(["gil", "atomic"], ["shared_list"], [1, 2]))
        out_dir = os.path.join(self.dir, "out")
        status, stdout, err = self.plot(path, "-o", out_dir)
        self.assertEqual(status, 0, err)
        self.assert_made(out_dir, ["throughput-seeds.png", "counters-seeds.png", "scaling_heatmap.png"])
        for name in ("overhead-seeds.png", "overhead_heatmap.png", "cow.png"):
            self.assertFalse(os.path.exists(os.path.join(out_dir, name)), name)
        self.assertIn("no plain results at 1 thread", stdout)
        self.assertIn("Not drawn: no plain results at 1 thread", self.report(out_dir))
        self.assertIn("Not drawn: no copy-on-write figures", self.report(out_dir))

    def test_plain_missing_for_one_workload_is_named_on_the_plot(self):
        with_plain = make_results(["plain", "atomic"], ["shared_list"], [1])
        without = make_results(["atomic"], ["private_churn"], [1])
        path_a, path_b = self.write("a.json", with_plain), self.write("b.json", without)
        out_dir = os.path.join(self.dir, "out")
        status, _, err = self.plot(path_a, path_b, "-o", out_dir)
        self.assertEqual(status, 0, err)
        self.assert_made(out_dir, ["overhead-seeds.png", "overhead_heatmap.png"])
        self.assertIn("no ratio for: private_churn", self.report(out_dir))

    def test_later_file_replaces_earlier_benchmarks_and_default_out_dir(self):
        first = self.write("small.json", make_results(["plain", "atomic"], ["shared_list"], [1, 2], seed=1))
        second = self.write("big.json", make_results(["atomic"], ["shared_list"], [2, 4], seed=2, host="big"))
        status, _, err = self.plot(first, second)
        self.assertEqual(status, 0, err)
        out_dir = os.path.join(self.dir, "small_report")
        self.assert_made(out_dir, ["throughput-seeds.png", "overhead-seeds.png"])
        text = self.report(out_dir)
        self.assertIn("big.json replaces 1 benchmark(s) from small.json", text)
        self.assertIn("`" + second + "`", text)  # one context column per file

    def test_broken_and_missing_files_are_named_and_skipped(self):
        good = self.write("good.json", make_results(["plain", "atomic"], ["shared_list"], [1]))
        broken = self.write("broken.json", '{"benchmarks": [')
        missing = os.path.join(self.dir, "absent.json")
        out_dir = os.path.join(self.dir, "out")
        status, _, err = self.plot(missing, broken, good, "-o", out_dir)
        self.assertEqual(status, 0)
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 2, err)
        self.assertIn(f"skipping {missing}: no such file", lines[0])
        self.assertIn(f"skipping {broken}: not JSON", lines[1])
        self.assert_made(out_dir, ["throughput-seeds.png"])
        self.assertIn("absent.json` skipped: no such file", self.report(out_dir))

    def test_nothing_usable_exits_non_zero(self):
        cases = {
            "broken.json": ("not json at all", "not JSON"),
            "other.json": ({"results": []}, "not a results file (no 'benchmarks' list"),
            "empty.json": ({"context": {}, "benchmarks": []}, "holds no benchmarks"),
            "foreign.json": ({"benchmarks": [{"name": "BM_Sort/1024", "real_time": 3}]}, "has no rcbench benchmarks"),
        }
        for name, (content, message) in cases.items():
            with self.subTest(name):
                path = self.write(name, content)
                status, _, err = self.plot(path, "-o", os.path.join(self.dir, "out_" + name))
                self.assertEqual(status, 1)
                self.assertIn(message, err)
                self.assertIn("nothing to plot", err)
                self.assertFalse(os.path.exists(os.path.join(self.dir, "out_" + name)))

    def test_aggregates_only_file_uses_the_medians(self):
        # Google Benchmark's --benchmark_report_aggregates_only leaves no repetitions.
        content = make_results(["plain", "atomic"], ["shared_list"], [1, 2])
        content["benchmarks"] = [b for b in content["benchmarks"] if b["run_type"] == "aggregate"]
        out_dir = os.path.join(self.dir, "out")
        status, _, err = self.plot(self.write("agg.json", content), "-o", out_dir)
        self.assertEqual(status, 0, err)
        self.assert_made(out_dir, ["throughput-seeds.png", "overhead-seeds.png", "overhead_heatmap.png",
                                   "counters-seeds.png"])
        self.assertIn("| shared_list | atomic | 2 |", self.report(out_dir))

    def test_only_failed_benchmarks_exits_non_zero(self):
        path = self.write("failed.json", make_results(["atomic"], ["shared_list"], [1],
                                                      errored=["shared_list/atomic/threads:1"]))
        status, _, err = self.plot(path, "-o", os.path.join(self.dir, "out"))
        self.assertEqual(status, 1)
        self.assertIn("finished without an error", err)


@unittest.skipUnless(HAVE_MATPLOTLIB, NO_MATPLOTLIB)
class IntervalsAndComparisonTest(PlotCase):
    """The schema after the runner rewrite: 95% intervals, precision verdicts, the probe."""

    def test_report_shows_intervals_precision_and_the_hardware_floor(self):
        content = make_results(["plain", "atomic"], ["hot_object"], [1, 2], intervals=True,
                               short_of_precision=["hot_object/atomic/threads:2"])
        out_dir = os.path.join(self.dir, "out")
        status, _, err = self.plot(self.write("r.json", content), "-o", out_dir)
        self.assertEqual(status, 0, err)
        text = self.report(out_dir)
        self.assertIn("## Hardware floor", text)
        self.assertRegex(text, r"\| contended pair \| [^|]+ \| 50 ns \|")
        self.assertIn("1 short of the asked precision", text)
        # ns/item with its ±, × plain pair (0.5 ns) and, at 2 threads only, × contended pair (50 ns).
        cells = {}
        for line in text.splitlines():
            if line.startswith("| hot_object |"):
                parts = [x.strip() for x in line.strip("|").split("|")]
                cells[(parts[1], int(parts[2]))] = parts
        atomic2 = cells[("atomic", 2)]
        m = __import__("re").match(r"([\d.]+) ±([\d.]+)%$", atomic2[3])
        self.assertIsNotNone(m, atomic2[3])
        ns = float(m[1])
        self.assertAlmostEqual(float(atomic2[4]), ns / 0.5, delta=ns / 0.5 * 0.01)
        self.assertAlmostEqual(float(atomic2[5]), ns / 50, delta=ns / 50 * 0.01)
        self.assertIn("precision not reached: budget", atomic2[-1])
        self.assertEqual(cells[("atomic", 1)][5], "")  # no contended floor at 1 thread
        self.assertNotIn("precision", cells[("atomic", 1)][-1])

    def test_old_files_have_no_floor_section_and_no_plus_minus(self):
        out_dir = os.path.join(self.dir, "out")
        status, _, err = self.plot(self.write("old.json", make_results(["plain", "atomic"], ["x"], [1])),
                                   "-o", out_dir)
        self.assertEqual(status, 0, err)
        text = self.report(out_dir)
        self.assertNotIn("Hardware floor", text)
        self.assertNotRegex(text, r"\| [\d.]+ ±")
        self.assertNotIn("× plain pair", text)

    def test_whiskers_use_the_interval_when_the_file_has_one(self):
        import plot_results
        import rcresults
        path = self.write("r.json", make_results(["plain", "atomic"], ["hot_object"], [1, 2], intervals=True))
        res = rcresults.load([path], lambda *_: self.fail("unreadable"))
        cell = res.get("hot_object", "atomic", 2)
        # Rewrite the interval to a known, narrower one than the repetitions' range.
        med = cell.median("ns_per_item")
        cell.median_entry.update(ns_per_item_ci95_low=med * 0.99, ns_per_item_ci95_high=med * 1.02)
        m, below, above = plot_results.ci_yerr(cell, "ns_per_item")
        self.assertAlmostEqual(below, med * 0.01)
        self.assertAlmostEqual(above, med * 0.02)
        # items/s turns over: its low end comes from ns's high end.
        ips = cell.median("items_per_second")
        _, below, above = plot_results.ci_yerr(cell, "items_per_second")
        self.assertAlmostEqual(ips - below, ips / 1.02)
        self.assertAlmostEqual(ips + above, ips / 0.99)
        cell.median_entry.pop("ns_per_item_ci95_low")
        cell.meta["summary"].pop("ns_per_item_ci95_low")
        self.assertEqual(plot_results.ci_yerr(cell, "ns_per_item"), plot_results.yerr(cell, "ns_per_item"))

    def test_conservative_ratio_of_two_cells(self):
        import rcresults
        def cell(med, lo=None, hi=None):
            c = rcresults.Cell("w", "s", 1, source=rcresults.Source("f.json", {}), reps=[{"ns_per_item": med}])
            if lo is not None:
                c.median_entry = {"ns_per_item_ci95_low": lo, "ns_per_item_ci95_high": hi}
            return c
        r = rcresults.ratio(cell(10, 9, 11), cell(12, 11.5, 13))
        self.assertAlmostEqual(r.median, 1.2)
        self.assertAlmostEqual(r.low, 11.5 / 11)
        self.assertAlmostEqual(r.high, 13 / 9)
        self.assertTrue(r.changed)
        self.assertFalse(rcresults.ratio(cell(10, 9, 11), cell(10.5, 9.5, 11.5)).changed)
        point = rcresults.ratio(cell(10), cell(12, 11, 13))  # an old BASE: the point alone
        self.assertAlmostEqual(point.median, 1.2)
        self.assertIsNone(point.low)
        self.assertFalse(point.changed)

    def test_base_new_draws_a_comparison_and_keeps_both(self):
        base = self.write("base.json", make_results(["plain", "atomic"], ["hot_object"], [1, 2], seed=3,
                                                    intervals=True))
        new = self.write("new.json", make_results(["plain", "atomic"], ["hot_object"], [1, 2], seed=3,
                                                  intervals=True, slower={"hot_object/atomic/threads:2": 1.5}))
        out_dir = os.path.join(self.dir, "out")
        status, stdout, err = self.plot(base, new, "-o", out_dir)
        self.assertEqual(status, 0, err)
        self.assert_made(out_dir, ["comparison.png", "throughput-seeds.png"])
        text = self.report(out_dir)
        self.assertIn("![Before/after comparison](comparison.png)", text)
        self.assertIn("1 of 3 benchmark(s) with intervals got slower and 0 faster beyond them", text)
        self.assertIn("hot_object/atomic/threads:2 at 1.50×", text)
        self.assertIn("new.json replaces 3 benchmark(s) from base.json in the plots; comparison.png", text)
        import rcresults
        res = rcresults.load([base, new], lambda *_: None)
        self.assertEqual(len(res.baselines), 3)
        self.assertTrue(all(c.source.label == "base.json" for c in res.baselines.values()))
        self.assertTrue(all(c.source.label == "new.json" for c in res.cells.values()))

    def test_disjoint_files_merge_without_a_comparison(self):
        a = self.write("a.json", make_results(["plain", "atomic"], ["shared_list"], [1], intervals=True))
        b = self.write("b.json", make_results(["plain", "atomic"], ["hot_object"], [1], intervals=True))
        out_dir = os.path.join(self.dir, "out")
        status, stdout, err = self.plot(a, b, "-o", out_dir)
        self.assertEqual(status, 0, err)
        self.assertFalse(os.path.exists(os.path.join(out_dir, "comparison.png")))
        self.assertIn("no comparison.png: one file, or files with no benchmark in common", stdout)
        self.assertIn("| shared_list | atomic | 1 |", self.report(out_dir))
        self.assertIn("| hot_object | atomic | 1 |", self.report(out_dir))

    def test_comparison_of_old_files_draws_points_without_intervals(self):
        a = self.write("a.json", make_results(["plain", "atomic"], ["shared_list"], [1], seed=1))
        b = self.write("b.json", make_results(["plain", "atomic"], ["shared_list"], [1], seed=2))
        out_dir = os.path.join(self.dir, "out")
        status, _, err = self.plot(a, b, "-o", out_dir)
        self.assertEqual(status, 0, err)
        self.assert_made(out_dir, ["comparison.png"])
        self.assertRegex(self.report(out_dir), r"No file has intervals; \d of 2 benchmark\(s\) are within 5%")


class FamilyTableTest(unittest.TestCase):
    """The family table in rcresults.py: needs no matplotlib."""

    def test_every_strategy_has_a_family_and_unknown_ones_are_other(self):
        import rcresults
        self.assertEqual(rcresults.family("atomic"), "seeds")
        self.assertEqual(rcresults.family("cpython_ft"), "cpython")
        self.assertEqual(rcresults.family("refcache"), "scalable")
        self.assertEqual(rcresults.family("boost_intrusive"), "library")
        self.assertEqual(rcresults.family("my_new_idea"), "other")
        self.assertEqual(rcresults.family_members("my_new_idea"), ["my_new_idea"])
        self.assertTrue(set(rcresults.FAMILY_OF.values()) <= set(rcresults.FAMILIES))
        self.assertIn("other", rcresults.FAMILIES)
        for s in rcresults.REFERENCES:
            self.assertIn(s, rcresults.FAMILY_OF)

    def test_order_is_family_by_family_with_unknown_ones_last(self):
        import rcresults
        shuffled = sorted(MANY_STRATEGIES + ["zzz", "aaa"], key=lambda s: s[::-1])
        order = rcresults.strategy_order(shuffled)
        self.assertEqual(order, MANY_STRATEGIES[:-1] + ["aaa", "my_new_idea", "zzz"])

    def test_select_keeps_references_reachable(self):
        import rcresults
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "r.json")
            with open(path, "w", encoding="utf-8") as f:
                json.dump(make_results(["plain", "atomic", "sticky"], ["shared_list"], [1, 2]), f)
            res = rcresults.load([path], lambda *_: None).select(["sticky"])
        self.assertEqual(res.strategies(), ["sticky"])
        self.assertIsNone(res.get("shared_list", "atomic", 2))
        self.assertIsNotNone(res.reference("shared_list", "atomic", 2))
        self.assertIsNotNone(res.reference("shared_list", "plain", 1))


class SpeedupDefinitionTest(unittest.TestCase):
    """rcresults.speedup() by each scaling's definition: needs no matplotlib."""

    @staticmethod
    def cell(threads, ns, scaling):
        import rcresults
        return rcresults.Cell("w", "s", threads, source=rcresults.Source("f.json", {"rcbench": {"scaling": scaling}}),
                              reps=[{"ns_per_item": ns}])

    def test_weak_is_t1_times_n_over_tn(self):
        import rcresults
        # Weak ns_per_item is per-thread time per item: 10 ns at 1 thread, 12.5 at 4 means each
        # iteration took 1.25× as long while doing 4× the work.
        self.assertAlmostEqual(rcresults.speedup(self.cell(1, 10.0, "weak"), self.cell(4, 12.5, "weak")), 3.2)

    def test_strong_is_t1_over_tn(self):
        import rcresults
        # Strong ns_per_item is wall time per item of the same fixed total: 10 ns, then 3.125 ns.
        self.assertAlmostEqual(rcresults.speedup(self.cell(1, 10.0, "strong"), self.cell(4, 3.125, "strong")), 3.2)

    def test_files_without_the_field_are_weak_and_scalings_never_mix(self):
        import rcresults
        old = rcresults.Cell("w", "s", 2, source=rcresults.Source("old.json", {}), reps=[{"ns_per_item": 10.0}])
        self.assertEqual(old.scaling, "weak")
        self.assertIsNone(rcresults.speedup(self.cell(1, 10.0, "strong"), old))
        sources = [rcresults.Source("a.json", {}), rcresults.Source("b.json", {"rcbench": {"scaling": "strong"}})]
        self.assertIn("a.json: weak; b.json: strong", rcresults.scaling_conflict(sources))
        self.assertIsNone(rcresults.scaling_conflict(sources[:1]))


@unittest.skipUnless(HAVE_MATPLOTLIB, NO_MATPLOTLIB)
class ScalingReportTest(PlotCase):
    """The report and the plots say which scaling a file holds and compute speedup by it."""

    def medians(self, text):
        """{(strategy, threads): row cells} of the medians table, whose header names the columns."""
        rows = [[x.strip() for x in line.strip().strip("|").split("|")]
                for line in text.split("## Medians")[1].splitlines() if line.startswith("| ")]
        header, body = rows[0], rows[1:]
        return {(r[1], int(r[2])): dict(zip(header, r)) for r in body}

    def run_report(self, scaling):
        content = make_results(["plain", "atomic"], ["shared_list"], [1, 2, 4], intervals=True, scaling=scaling)
        path = self.write(f"{scaling}.json", content)
        out_dir = os.path.join(self.dir, scaling)
        status, _, err = self.plot(path, "-o", out_dir)
        self.assertEqual(status, 0, err)
        import rcresults
        res = rcresults.load([path], lambda *_: self.fail("unreadable"))
        return self.report(out_dir), res

    def test_strong_scaling_speedup_is_t1_over_tn(self):
        text, res = self.run_report("strong")
        one, four = res.get("shared_list", "atomic", 1), res.get("shared_list", "atomic", 4)
        expected = one.median("ns_per_item") / four.median("ns_per_item")
        self.assertEqual(self.medians(text)[("atomic", 4)]["speedup"], f"{expected:.2f}×")
        self.assertEqual(self.medians(text)[("atomic", 1)]["speedup"], "")
        # The floors are per thread: 4 threads sharing the work each spent 4× ns/item per item.
        ns4 = float(self.medians(text)[("atomic", 4)]["ns/item"].split()[0])
        self.assertAlmostEqual(float(self.medians(text)[("atomic", 4)]["× contended pair"]), ns4 * 4 / 50,
                               delta=ns4 * 4 / 50 * 0.01)
        self.assertIn("at 1–4 threads, strong scaling", text)
        self.assertIn("Strong scaling: one fixed total of work is divided among the threads (4 units of one "
                      "thread's work per iteration); ns/item is wall time per item of the whole work, and speedup = "
                      "T1 / TN.", text)
        self.assertIn("| **scaling** | strong: one fixed total of work is divided among the threads, 4 units per "
                      "iteration |", text)
        self.assertRegex(text, r"Best speedup \(T1 / TN\): ")

    def test_weak_scaling_speedup_is_t1_times_n_over_tn(self):
        text, res = self.run_report("weak")
        one, four = res.get("shared_list", "atomic", 1), res.get("shared_list", "atomic", 4)
        expected = one.median("ns_per_item") * 4 / four.median("ns_per_item")
        self.assertEqual(self.medians(text)[("atomic", 4)]["speedup"], f"{expected:.2f}×")
        self.assertIn("at 1–4 threads, weak scaling", text)
        self.assertIn("ns/item is the time of one thread per item, and speedup = T1 × N / TN.", text)
        self.assertRegex(text, r"Best speedup \(T1 × N / TN\): ")

    def test_the_same_machine_gives_the_same_speedup_either_way(self):
        # The fixture's strong times are the weak ones divided among the threads: one machine, one
        # speedup, whichever scaling measured it.
        _, weak = self.run_report("weak")
        _, strong = self.run_report("strong")
        import rcresults
        for t in (2, 4):
            w = rcresults.speedup(weak.get("shared_list", "atomic", 1), weak.get("shared_list", "atomic", t))
            s = rcresults.speedup(strong.get("shared_list", "atomic", 1), strong.get("shared_list", "atomic", t))
            self.assertAlmostEqual(w, s, delta=w * 1e-9)

    def test_a_strong_file_against_a_weak_one_is_refused(self):
        weak = self.write("weak.json", make_results(["plain", "atomic"], ["shared_list"], [1, 2], scaling="weak"))
        strong = self.write("strong.json", make_results(["plain", "atomic"], ["shared_list"], [1, 2],
                                                        scaling="strong"))
        out_dir = os.path.join(self.dir, "out")
        status, _, err = self.plot(weak, strong, "-o", out_dir)
        self.assertEqual(status, 2)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn("different scalings (weak.json: weak; strong.json: strong)", err)
        self.assertFalse(os.path.exists(out_dir))


@unittest.skipUnless(HAVE_MATPLOTLIB, NO_MATPLOTLIB)
class FamiliesPlotTest(PlotCase):
    def test_each_strategy_has_its_own_colour_and_marker_within_its_family(self):
        import plot_results
        import rcresults
        styles = {s: plot_results.strategy_style(s) for s in MANY_STRATEGIES}
        self.assertEqual(len({c for c, _ in styles.values()}), len(styles), styles)
        for fam in rcresults.FAMILIES:
            markers = [m for s, (_, m) in styles.items() if rcresults.family(s) == fam]
            self.assertEqual(len(markers), len(set(markers)), fam)
        self.assertEqual(plot_results.strategy_style("plain")[0], "#222222")
        self.assertEqual(plot_results.strategy_style("x_new"), plot_results.strategy_style("x_new"))

    def test_sixteen_strategies_in_every_family_render(self):
        workloads = ["shared_list", "private_churn", "handoff", "fork_cow"]
        path = self.write("many.json", make_results(MANY_STRATEGIES, workloads, [1, 2, 4, 8, 16], intervals=True))
        out_dir = os.path.join(self.dir, "out")
        status, _, err = self.plot(path, "-o", out_dir)
        self.assertEqual(status, 0, err)
        self.assertEqual(err, "")
        families = ["seeds", "cpython", "scalable", "library", "other"]
        self.assert_made(out_dir, OVERVIEW_PLOTS + [f"{kind}-{fam}.png" for fam in families
                                                    for kind in ("throughput", "overhead")]
                         + ["counters-seeds.png", "counters-other.png", "cow.png"])
        text = self.report(out_dir)
        self.assertIn("a panel per workload and a line per strategy, atomic in grey for reference", text)
        self.assertIn("17 strategies in 5 families (seeds, cpython, scalable, library, other)", text)
        headings = [line for line in text.splitlines() if line.startswith("## Family: ")]
        self.assertEqual([h.split("`")[1] for h in headings], families)
        # Families without counters say so where their figure would be.
        self.assertIn("*Not drawn: no non-zero strategy counters in this family's results", text)
        # The medians table lists strategies family by family.
        rows = [line.split("|")[2].strip() for line in text.splitlines() if line.startswith("| shared_list |")]
        self.assertEqual(list(dict.fromkeys(rows)), MANY_STRATEGIES)

    def test_strategies_option_draws_only_those(self):
        path = self.write("r.json", make_results(["plain", "gil", "atomic", "sticky", "sharded"], ["shared_list"],
                                                 [1, 2]))
        out_dir = os.path.join(self.dir, "out")
        status, _, err = self.plot(path, "-o", out_dir, "--strategies", "sharded, sticky")
        self.assertEqual(status, 0, err)
        # plain left out is still the overhead's denominator.
        self.assert_made(out_dir, ["throughput-scalable.png", "overhead-scalable.png", "overhead_heatmap.png"])
        self.assertFalse(os.path.exists(os.path.join(out_dir, "throughput-seeds.png")))
        text = self.report(out_dir)
        self.assertIn("| shared_list | sticky | 2 |", text)
        self.assertIn("| shared_list | sharded | 2 |", text)
        for gone in ("gil", "atomic", "plain"):
            self.assertNotIn(f"| shared_list | {gone} |", text)
        self.assertIn("drawn: sticky, sharded (--strategies/--families); left out: plain, gil, atomic", text)

    def test_families_option_draws_only_those(self):
        path = self.write("r.json", make_results(["plain", "atomic", "immortal", "sticky"], ["shared_list"], [1, 2]))
        out_dir = os.path.join(self.dir, "out")
        status, _, err = self.plot(path, "-o", out_dir, "--families", "cpython,scalable")
        self.assertEqual(status, 0, err)
        text = self.report(out_dir)
        self.assertIn("| shared_list | immortal | 2 |", text)
        self.assertIn("| shared_list | sticky | 2 |", text)
        self.assertNotIn("| shared_list | atomic |", text)

    def test_unknown_names_are_one_line_naming_the_valid_ones(self):
        path = self.write("r.json", make_results(["plain", "atomic", "sticky"], ["shared_list"], [1]))
        cases = {
            ("--strategies", "sticky,nope"): ["nope", "plain, atomic, sticky"],
            ("--strategies", ","): ["no names given", "plain, atomic, sticky"],
            ("--families", "seeds,bogus"): ["bogus", "seeds, cpython, scalable, library, other"],
            ("--strategies", "sticky", "--families", "cpython"): ["sticky (scalable)"],
        }
        for args, words in cases.items():
            with self.subTest(args):
                out_dir = os.path.join(self.dir, "out")
                status, stdout, err = self.plot(path, "-o", out_dir, *args)
                self.assertEqual(status, 2)
                self.assertEqual(len(err.strip().splitlines()), 1, err)
                for w in words:
                    self.assertIn(w, err)
                self.assertFalse(os.path.exists(out_dir))


def png_facts(path):
    """(width, height, dpi, text chunks) of a PNG, read by Pillow (matplotlib needs it anyway)."""
    from PIL import Image
    with Image.open(path) as im:
        return im.size[0], im.size[1], round(im.info.get("dpi", (0, 0))[0]), dict(getattr(im, "text", {}))


@unittest.skipUnless(HAVE_MATPLOTLIB, NO_MATPLOTLIB)
class AtAGlanceTest(PlotCase):
    """Issue 19: an overview first, figures that fit a screen, each saying machine, suite and date."""

    def test_a_full_suite_fits_a_screen_per_figure(self):
        # 17 strategies × 17 workloads × 1..16 threads: the `all` suite on a 16-core machine, where the
        # old throughput.png was 2004 × 6484 pixels.
        content = make_results(MANY_STRATEGIES, SUITE_WORKLOADS, [1, 2, 4, 8, 16], intervals=True, suite="all")
        path = self.write("all.json", content)
        out_dir = os.path.join(self.dir, "out")
        status, stdout, err = self.plot(path, "-o", out_dir)
        self.assertEqual(status, 0, err)
        self.assertEqual(err, "")
        self.assertNotIn("note:", stdout)  # nothing had to be drawn at a lower resolution
        pngs = sorted(f for f in os.listdir(out_dir) if f.endswith(".png"))
        self.assertGreaterEqual(len(pngs), 20, pngs)
        for name in pngs:
            with self.subTest(name):
                width, height, dpi, text = png_facts(os.path.join(out_dir, name))
                self.assertLessEqual(width, MAX_WIDTH_PX)
                self.assertLessEqual(height, MAX_HEIGHT_PX)
                self.assertEqual(dpi, 130)
                for fact in ("synthetic, Synthetic CPU @ 3.00GHz", "suite all", "2026-11-22 00:03"):
                    self.assertIn(fact, text.get("Description", ""))
        # The throughput figures are split, family by family and page by page, and all are in the report.
        for fam in ("seeds", "cpython", "scalable", "library", "other"):
            self.assertIn(f"throughput-{fam}.png", pngs)
            self.assertIn(f"throughput-{fam}-2.png", pngs)
        self.assertNotIn("throughput.png", pngs)
        text = self.report(out_dir)
        for name in pngs:
            self.assertIn(f"]({name})", text)
        self.assertIn("suite all", text.split("\n\n")[1])  # in the headline
        self.assertIn("| **suite** | all |", text)
        # One ranking table per workload, in the suite's order.
        self.assertEqual(re.findall(r"^#### (\S+)", text, re.M), SUITE_WORKLOADS)

    def test_ranking_is_fastest_first_at_one_thread(self):
        strategies = ["plain", "gil", "atomic", "biased", "sticky", "sharded"]
        path = self.write("r.json", make_results(strategies, ["shared_list"], [1, 2, 4], intervals=True,
                                                 suite="headline"))
        out_dir = os.path.join(self.dir, "out")
        status, _, err = self.plot(path, "-o", out_dir)
        self.assertEqual(status, 0, err)
        import rcresults
        res = rcresults.load([path], lambda *_: self.fail("unreadable"))
        ns1 = {s: res.get("shared_list", s, 1).median("ns_per_item") for s in strategies}
        text = self.report(out_dir)
        table = text.split("#### shared_list")[1].split("\n\n")[2].splitlines()
        header = [x.strip() for x in table[0].strip("|").split("|")]
        self.assertEqual(header, ["#", "strategy", "family", "ns/item @1", "95% interval @1", "× plain @1",
                                  "ns/item @4", "95% interval @4", "× ideal @4", "speedup @4"])
        rows = [dict(zip(header, (x.strip() for x in line.strip("|").split("|")))) for line in table[2:]]
        self.assertEqual([r["strategy"] for r in rows], sorted(strategies, key=ns1.get))
        sticky = next(r for r in rows if r["strategy"] == "sticky")
        one, four = res.get("shared_list", "sticky", 1), res.get("shared_list", "sticky", 4)
        self.assertEqual(sticky["speedup @4"], f"{rcresults.speedup(one, four):.2f}×")
        self.assertEqual(sticky["× plain @1"], f"{ns1['sticky'] / ns1['plain']:.2f}×")
        # Weak scaling: the ideal at 4 threads keeps plain's 1-thread time per item.
        self.assertEqual(sticky["× ideal @4"], f"{four.median('ns_per_item') / ns1['plain']:.2f}×")
        lo, hi = one.ci95()
        self.assertTrue(sticky["95% interval @1"].startswith(f"{report_num(lo)}–{report_num(hi)} ±"))
        plain = next(r for r in rows if r["strategy"] == "plain")
        self.assertEqual(plain["speedup @4"], "–")  # plain ran at 1 thread only
        self.assertIn("Fastest at 1 thread (plain aside): **", text)
        self.assertIn("suite headline", text)

    def test_heatmaps_count_wide_and_missing_intervals(self):
        content = make_results(["plain", "atomic", "sticky"], ["shared_list", "hot_object"], [1, 2],
                               intervals=True, no_interval=["hot_object/sticky/threads:1"])
        out_dir = os.path.join(self.dir, "out")
        status, _, err = self.plot(self.write("r.json", content), "-o", out_dir)
        self.assertEqual(status, 0, err)
        text = self.report(out_dir)
        cost = text.split("### Cost over plain at 1 thread")[1].split("###")[0]
        # Four ratios; hot_object/sticky has no interval at 1 thread, so its cost and its speedup are "no CI".
        self.assertRegex(cost, r"reaches more than 5% from its median[^(]*\(\d of 4\); \*no CI\*: [^(]*\(1\)")
        speed = text.split("### Speedup at 2 threads")[1].split("###")[0]
        self.assertRegex(speed, r"\(\d of 4\); \*no CI\*: [^(]*\(1\)")
        self.assertIn("![Speedup at 2 threads](scaling_heatmap.png)", text)

    def test_one_thread_only_has_no_scaling_grid(self):
        out_dir = os.path.join(self.dir, "out")
        status, stdout, err = self.plot(self.write("r.json", make_results(["plain", "atomic"], ["x"], [1])),
                                        "-o", out_dir)
        self.assertEqual(status, 0, err)
        self.assertIn("no scaling_heatmap.png: every benchmark ran at 1 thread", stdout)
        self.assertIn("*Not drawn: every benchmark ran at 1 thread: no scaling to show.*", self.report(out_dir))

    def test_old_files_say_suite_not_recorded_and_a_mix_names_both(self):
        import rcresults
        import report
        a = self.write("a.json", make_results(["plain"], ["x"], [1]))
        b = self.write("b.json", make_results(["plain"], ["y"], [1], suite="seeds", host="other"))
        res = rcresults.load([a], lambda *_: None)
        self.assertEqual(report.stamp(res), "synthetic, Synthetic CPU @ 3.00GHz · suite not recorded · 2026-11-22 00:03")
        both = rcresults.load([a, b], lambda *_: None)
        self.assertIn("suites not recorded, seeds", report.stamp(both))
        self.assertIn("synthetic, Synthetic CPU @ 3.00GHz; other, Synthetic CPU @ 3.00GHz", report.stamp(both))

    def test_pages_are_even_and_break_between_groups(self):
        import plot_results
        self.assertEqual([len(p) for p in plot_results.pages(list(range(17)), 16)], [9, 8])
        self.assertEqual([len(p) for p in plot_results.pages(list(range(16)), 16)], [16])
        self.assertEqual(plot_results.pages([], 16), [])
        items = ["a"] * 3 + ["b"] * 3 + ["c"] * 7
        paged = plot_results.pages_by(items, 6, lambda x: x)
        self.assertEqual(paged, [["a"] * 3 + ["b"] * 3, ["c"] * 4, ["c"] * 3])


def report_num(x):
    import report
    return report.num(x)


class LauncherTest(unittest.TestCase):
    LAUNCHER = os.path.join(SCRIPTS, "plot")

    def test_without_matplotlib_it_names_the_fix(self):
        # `false` stands in for a Python whose `import matplotlib` fails.
        env = dict(os.environ, RCBENCH_PYTHON="false")
        p = subprocess.run([self.LAUNCHER, "x.json"], env=env, capture_output=True, text=True, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("apt-get install python3-matplotlib", p.stderr)

    @unittest.skipUnless(HAVE_MATPLOTLIB, NO_MATPLOTLIB)
    def test_it_runs_the_plotter(self):
        env = dict(os.environ, RCBENCH_PYTHON=sys.executable)
        p = subprocess.run([self.LAUNCHER, "--help"], env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("--out-dir", p.stdout)


if __name__ == "__main__":
    if not HAVE_MATPLOTLIB:
        print(f"test_plot_results: plotting tests skipped: {NO_MATPLOTLIB}", file=sys.stderr)
    unittest.main(verbosity=2)
