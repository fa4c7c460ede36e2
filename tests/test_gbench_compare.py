"""Google Benchmark's own compare.py reads rcbench results files and shows their real figures.

    python3 tests/test_gbench_compare.py [BASE.json NEW.json]
    RCBENCH_GBENCH_BASE=a.json RCBENCH_GBENCH_NEW=b.json python3 tests/test_gbench_compare.py

Without paths it uses tests/data/rcbench2-base.json and rcbench2-new.json (the schema after the
runner rewrite); give it two real `rcbench run --out` files to check the harness itself. It runs
`compare.py --no-color --no-utest benchmarks BASE NEW` and checks, per repetition, that the Time
Old/New and CPU Old/New columns are the files' real_time and cpu_time, that those are ns (an
iteration takes far more than the 0, 1 or 2 a ms unit rounds to), and that cpu_time is the worker
threads' CPU summed (about threads × real_time), not a driver thread's that sleeps while they work.

compare.py comes with Debian's libbenchmark-tools (/usr/share/benchmark/compare.py; COMPARE_PY
names another) and needs numpy and scipy; without them the test is skipped, saying which is missing.
"""

import json
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = [os.environ.get("RCBENCH_GBENCH_BASE") or os.path.join(HERE, "data", "rcbench2-base.json"),
         os.environ.get("RCBENCH_GBENCH_NEW") or os.path.join(HERE, "data", "rcbench2-new.json")]
COMPARE_PY = os.environ.get("COMPARE_PY") or "/usr/share/benchmark/compare.py"
# A CPU-bound worker is busy for most of the wall time; below this share of threads × real_time
# the CPU figure is not the workers'.
BUSY = 0.5


def python_with_scipy():
    for py in dict.fromkeys([sys.executable, "/usr/bin/python3"]):
        if os.access(py, os.X_OK) and subprocess.run([py, "-c", "import numpy, scipy"],
                                                     capture_output=True).returncode == 0:
            return py
    return None


PYTHON = python_with_scipy()
MISSING = ("compare.py not found at " + COMPARE_PY + ": apt-get install libbenchmark-tools"
           if not os.path.isfile(COMPARE_PY) else
           "no Python here imports numpy and scipy, which compare.py needs: apt-get install python3-scipy"
           if PYTHON is None else None)


def iterations(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    cpus = data.get("context", {}).get("num_cpus") or 1
    return [b for b in data["benchmarks"] if b.get("run_type", "iteration") == "iteration"
            and not b.get("error_occurred")], cpus


@unittest.skipIf(MISSING, MISSING)
class GbenchCompareTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        p = subprocess.run([PYTHON, COMPARE_PY, "--no-color", "--no-utest", "benchmarks", *FILES],
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise AssertionError(f"compare.py failed ({p.returncode}): {p.stderr.strip()}")
        cls.output = p.stdout
        # name -> rows of (Time Old, Time New, CPU Old, CPU New), one per repetition in file order.
        cls.rows = {}
        for line in p.stdout.splitlines():
            parts = line.split()
            if len(parts) == 7 and "/threads:" in parts[0]:
                cls.rows.setdefault(parts[0], []).append([float(x) for x in parts[3:]])

    def test_time_and_cpu_columns_are_the_files_real_figures(self):
        (old, _), (new, _) = iterations(FILES[0]), iterations(FILES[1])
        new_by_name = {}
        for b in new:
            new_by_name.setdefault(b["name"], []).append(b)
        seen = {}
        compared = 0
        for b in old:
            name = b["name"]
            if name not in new_by_name:
                continue
            i = seen[name] = seen.get(name, -1) + 1
            if i >= len(new_by_name[name]):
                continue  # compare.py pairs repetitions up to the shorter run
            with self.subTest(name, repetition=i):
                self.assertIn(name, self.rows, f"compare.py printed no row for {name}")
                row = self.rows[name][i]
                n = new_by_name[name][i]
                # compare.py prints whole numbers: allow its rounding.
                for shown, want in zip(row, (b["real_time"], n["real_time"], b["cpu_time"], n["cpu_time"])):
                    self.assertAlmostEqual(shown, want, delta=0.51)
                compared += 1
        self.assertGreater(compared, 0, "no benchmark in both files")

    def test_figures_are_ns_and_cpu_is_the_workers(self):
        for path in FILES:
            entries, cpus = iterations(path)
            for b in entries:
                with self.subTest(path=os.path.basename(path), name=b["name"], repetition=b.get("repetition_index")):
                    self.assertEqual(b.get("time_unit"), "ns")
                    # Hundreds of ns at least per iteration; a ms unit would round to 0, 1 or 2.
                    self.assertGreater(b["real_time"], 100)
                    busy_threads = min(int(b.get("threads", 1)), int(cpus))
                    self.assertGreater(b["cpu_time"], BUSY * busy_threads * b["real_time"],
                                       "cpu_time is not the worker threads' CPU summed")
                    # Summed over at most `threads` workers, each at most fully busy.
                    self.assertLess(b["cpu_time"], 1.1 * int(b.get("threads", 1)) * b["real_time"])


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1].endswith(".json") and sys.argv[2].endswith(".json"):
        FILES[:] = sys.argv[1:3]
        del sys.argv[1:3]
    if MISSING:
        print(f"test_gbench_compare: skipped: {MISSING}", file=sys.stderr)
    unittest.main(verbosity=2)
