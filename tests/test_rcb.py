"""Tests for `scripts/rcb bench`: it exits with rcbench's status and plots only a results file
that this run wrote, never one an earlier run left at the same path.

    python3 tests/test_rcb.py

A fake rcbench (a shell script named by RCBENCH) stands in for the real one, so nothing is built
or timed; RCB_NO_BUILD skips installing and building, RCB_OUT points the output at a temp dir.
"""

import os
import subprocess
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
RCB = os.path.join(os.path.dirname(HERE), "scripts", "rcb")

# Writes a tiny results file to --out when FAKE_WRITES is set, then exits with FAKE_STATUS.
FAKE_RCBENCH = textwrap.dedent("""\
    #!/usr/bin/env bash
    out=""
    while (($#)); do [[ $1 == --out ]] && out=$2; shift; done
    if [[ -n ${FAKE_WRITES:-} ]]; then
      echo '{"context": {}, "benchmarks": [], "fresh": true}' > "$out"
    fi
    exit "${FAKE_STATUS:-0}"
""")


class RcbBenchTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="rcbench_rcb_test_")
        self.fake = os.path.join(self.tmp.name, "rcbench")
        with open(self.fake, "w") as f:
            f.write(FAKE_RCBENCH)
        os.chmod(self.fake, 0o755)
        self.out = os.path.join(self.tmp.name, "results", "host.json")

    def tearDown(self):
        self.tmp.cleanup()

    def bench(self, status, writes):
        env = dict(os.environ, RCBENCH=self.fake, RCB_OUT=self.out, RCB_NO_BUILD="1",
                   FAKE_STATUS=str(status), FAKE_WRITES="1" if writes else "",
                   RCBENCH_PYTHON="false")  # the plotter then gives up at once; rcb tolerates that
        return subprocess.run([RCB, "bench", "--quick"], env=env, capture_output=True, text=True, timeout=60)

    def leave_old_results(self):
        os.makedirs(os.path.dirname(self.out), exist_ok=True)
        with open(self.out, "w") as f:
            f.write('{"old": true}')
        # An old file: an mtime in the past, as a previous day's run leaves it.
        os.utime(self.out, (1_600_000_000, 1_600_000_000))

    def test_failed_run_does_not_plot_an_older_file(self):
        self.leave_old_results()
        p = self.bench(status=2, writes=False)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("wrote no results", p.stderr)
        self.assertIn("not from this run, not plotted", p.stderr)
        self.assertNotIn("plotting ->", p.stderr)
        with open(self.out) as f:
            self.assertEqual(f.read(), '{"old": true}')

    def test_failed_run_without_any_file_does_not_plot(self):
        p = self.bench(status=1, writes=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertNotIn("plotting ->", p.stderr)
        self.assertFalse(os.path.exists(self.out))

    def test_successful_run_over_an_older_file_plots_the_new_one(self):
        self.leave_old_results()
        p = self.bench(status=0, writes=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("plotting ->", p.stderr)
        with open(self.out) as f:
            self.assertIn('"fresh": true', f.read())

    def test_run_with_failures_that_wrote_a_file_plots_it_and_keeps_the_status(self):
        # rcbench exits non-zero when some benchmark failed, yet writes the rest: worth a plot.
        p = self.bench(status=1, writes=True)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("rcbench exited with status 1; plotting what it wrote", p.stderr)
        self.assertIn("plotting ->", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
