"""Tests report.html in a real browser: it loads without a script error, needs nothing from outside
the file, and a click on a table header sorts the table.

    /usr/bin/python3 tests/test_report_html.py      (a Python that can import matplotlib)

The browser is Debian's headless Chromium (apt-get install chromium), or the one RCBENCH_CHROMIUM
names. Without it, or without matplotlib, the tests are skipped and the script exits 0 saying so.

How the page is checked: report_html.py's script records every error (window.onerror, unhandled
rejections, console.error) into <pre id="js-errors">, marks <body data-js="ready"> when it has set
the page up, and, opened as report.html#selftest:TABLE:COLUMN;..., clicks those headers twice each
and writes the row orders into <pre id="selftest-result">. `chromium --headless --dump-dom` prints the
DOM after the scripts ran; the test reads those elements from it and compares the orders with the
medians it computes from the results file itself. Chromium's own log (--enable-logging=stderr) must
hold no console message either.
"""

import contextlib
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "scripts"))
sys.path.insert(0, HERE)

try:
    import matplotlib  # noqa: F401
    HAVE_MATPLOTLIB = True
except ImportError:
    HAVE_MATPLOTLIB = False


def find_chromium() -> str | None:
    named = os.environ.get("RCBENCH_CHROMIUM")
    if named:
        return shutil.which(named)
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


CHROMIUM = find_chromium()
SKIP_WHY = ("matplotlib is not importable by this Python (apt-get install python3-matplotlib)" if not HAVE_MATPLOTLIB
            else "no headless browser: install chromium (apt-get install chromium) or set RCBENCH_CHROMIUM"
            if not CHROMIUM else None)

STRATEGIES = ["plain", "gil", "atomic", "biased", "immortal", "sticky", "sharded"]
WORKLOADS = ["shared_list", "hot_object"]
THREADS = [1, 2, 4]
# The ranking table's columns (report.py, ranking_section) at most threads 4.
NS_1, STRATEGY, NS_4, SPEEDUP_4 = 3, 1, 6, 9


def browse(url: str, profile: str) -> tuple[str, str]:
    """The DOM after the page's scripts ran, and Chromium's log."""
    p = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-extensions", "--disable-background-networking", f"--user-data-dir={profile}",
         "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000", "--dump-dom", url],
        capture_output=True, text=True, timeout=90)
    if p.returncode != 0:
        raise AssertionError(f"chromium exited {p.returncode}: {p.stderr[-2000:]}")
    return p.stdout, p.stderr


def element_text(dom: str, element_id: str) -> str:
    m = re.search(rf'<pre id="{element_id}"[^>]*>(.*?)</pre>', dom, re.S)
    if m is None:
        raise AssertionError(f"no #{element_id} in the page")
    return html.unescape(m[1])


def console_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if "CONSOLE" in line or "Uncaught" in line]


@unittest.skipIf(SKIP_WHY is not None, SKIP_WHY or "")
class ReportHtmlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        from test_plot_results import make_results
        import plot_results
        import rcresults
        cls.tmp = tempfile.TemporaryDirectory(prefix="rcbench_html_test_")
        cls.dir = cls.tmp.name
        content = make_results(STRATEGIES, WORKLOADS, THREADS, intervals=True, suite="headline",
                               no_interval=["hot_object/sticky/threads:4"])
        cls.results = os.path.join(cls.dir, "r.json")
        with open(cls.results, "w", encoding="utf-8") as f:
            json.dump(content, f)
        cls.out = os.path.join(cls.dir, "out")
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = plot_results.main([cls.results, "-o", cls.out])
        if status != 0:
            raise AssertionError(f"plot exited {status}: {err.getvalue()}")
        cls.page = os.path.join(cls.out, "report.html")
        with open(cls.page, encoding="utf-8") as f:
            cls.html = f.read()
        cls.res = rcresults.load([cls.results], lambda *_: None)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def url(self, fragment: str = "") -> str:
        return "file://" + self.page + fragment

    def ns(self, w: str, s: str, t: int) -> float | None:
        cell = self.res.get(w, s, t)
        return cell.median("ns_per_item") if cell else None

    def expected(self, key) -> tuple[list[str], list[str]]:
        """STRATEGIES by key ascending and descending, those without a value last both times."""
        have = [s for s in STRATEGIES if key(s) is not None]
        missing = [s for s in STRATEGIES if key(s) is None]
        up = sorted(have, key=key)
        return up + missing, up[::-1] + missing

    def test_the_file_needs_nothing_from_outside(self):
        self.assertNotRegex(self.html, r"""(?i)(src|href)\s*=\s*["']?(https?:|//)""")
        self.assertNotRegex(self.html, r"(?i)<link\b|@import|url\(\s*['\"]?https?:")
        pngs = sorted(f for f in os.listdir(self.out) if f.endswith(".png"))
        self.assertGreaterEqual(len(pngs), 5)
        self.assertEqual(self.html.count('<img src="data:image/png;base64,'), len(pngs))
        self.assertEqual(len(re.findall(r"<img ", self.html)), len(pngs))
        # The overview comes first: both grids, then the ranking, then the families.
        first = [self.html.index(f'title="{name}') for name in ("overhead_heatmap.png", "scaling_heatmap.png")]
        self.assertLess(first[0], first[1])
        self.assertLess(first[1], self.html.index('id="rank-shared-list-table"'))
        self.assertLess(self.html.index('id="rank-shared-list-table"'), self.html.index('id="family-seeds"'))
        self.assertIn("synthetic, Synthetic CPU @ 3.00GHz · suite headline · 2026-11-22 00:03", self.html)

    def test_it_loads_without_errors_and_headers_sort(self):
        specs = [("rank-shared-list-table", NS_4), ("rank-shared-list-table", STRATEGY),
                 ("rank-hot-object-table", SPEEDUP_4), ("medians-table", NS_1)]
        fragment = "#selftest:" + ";".join(f"{t}:{c}" for t, c in specs)
        dom, log = browse(self.url(fragment), os.path.join(self.dir, "profile"))
        self.assertEqual(element_text(dom, "js-errors"), "")
        self.assertTrue(re.search(r'<body[^>]*data-js="ready"', dom), "the page's script did not finish")
        self.assertEqual(console_lines(log), [])
        got = {}
        for line in element_text(dom, "selftest-result").splitlines():
            spec, _, rest = line.partition(" ")
            state, _, order = rest.partition(": ")
            got[(spec, state)] = order.split(",")
        self.assertEqual(len(got), 3 * len(specs), got)

        w = "shared_list"
        ranked = sorted(STRATEGIES, key=lambda s: self.ns(w, s, 1))
        self.assertEqual(got[("rank-shared-list-table:6", "initial")], ranked)
        up, down = self.expected(lambda s: self.ns(w, s, 4))
        self.assertEqual(got[("rank-shared-list-table:6", "ascending")], up)
        self.assertEqual(got[("rank-shared-list-table:6", "descending")], down)
        self.assertEqual(up[-1], "plain")  # ran at 1 thread only: last both ways
        self.assertEqual(got[("rank-shared-list-table:1", "ascending")], sorted(STRATEGIES))
        self.assertEqual(got[("rank-shared-list-table:1", "descending")], sorted(STRATEGIES, reverse=True))

        import rcresults

        def speedup(s):
            one, four = self.res.get("hot_object", s, 1), self.res.get("hot_object", s, 4)
            return rcresults.speedup(one, four) if one and four else None
        up, down = self.expected(speedup)
        self.assertEqual(got[("rank-hot-object-table:9", "ascending")], up)
        self.assertEqual(got[("rank-hot-object-table:9", "descending")], down)

        # The medians table: every benchmark, by median ns/item.
        cells = sorted(self.res.measured(), key=lambda c: c.median("ns_per_item"))
        self.assertEqual(got[("medians-table:3", "ascending")], [c.strategy for c in cells])
        self.assertEqual(got[("medians-table:3", "descending")], [c.strategy for c in cells[::-1]])

    def test_a_broken_script_would_be_seen(self):
        # The check above is only worth something if an error shows: break a copy of the page.
        broken = os.path.join(self.dir, "broken.html")
        with open(broken, "w", encoding="utf-8") as f:
            f.write(self.html.replace("</body>", "<script>no_such_function();</script></body>"))
        dom, log = browse("file://" + broken, os.path.join(self.dir, "profile-broken"))
        self.assertIn("no_such_function", element_text(dom, "js-errors"))
        self.assertTrue(any("no_such_function" in line for line in console_lines(log)), log[-2000:])


if __name__ == "__main__":
    if SKIP_WHY:
        print(f"test_report_html: skipped: {SKIP_WHY}")
    unittest.main(verbosity=2)
