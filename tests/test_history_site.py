"""Tests scripts/history-site: the site of a history database, in a real browser.

    python3 tests/test_history_site.py RCBENCH          (ctest passes the rcbench it built)
    python3 tests/test_history_site.py --measure PAGE   how long PAGE takes to load, in headless Chromium

A synthetic history (scripts/history-fixture: 6 commits x 40 cells x 2 machines, .json.gz) with
one known regression, shared_list/atomic/threads:1 25% slower from commit 3 on the first machine
only, is recorded with `rcbench history add`, and the site built from it. Then: the pages need
nothing from outside; the machine page loads in headless Chromium with no script error and no
console message; the commit page of commit 3 lists the planted regression for that machine and
no moved cell for the other; both the python3 on PATH and /usr/bin/python3 build the same site.
Browser checks are skipped, saying so, without Chromium (apt-get install chromium).
"""

import hashlib
import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.join(os.path.dirname(HERE), "scripts")
sys.path.insert(0, HERE)
from test_report_html import CHROMIUM, browse, console_lines, element_text  # noqa: E402

RCBENCH = os.environ.get("RCBENCH", "")
PLANTED = "shared_list/atomic/threads:1"


def commit_of(i):
    return hashlib.sha1(f"commit {i}".encode()).hexdigest()  # as scripts/history-fixture names them


def run(*argv, ok=(0,)):
    p = subprocess.run(list(argv), capture_output=True, text=True)
    if p.returncode not in ok:
        raise AssertionError(f"{argv[:3]} exited {p.returncode}: {p.stderr[-2000:]}")
    return p


def section(text, machine):
    """The commit page's section of one machine (from its heading to the next)."""
    m = re.search(rf'<h2><a href="machine-[0-9a-f]+\.html">{machine}</a>(.*?)(?=<h2>|</body>)', text, re.S)
    if m is None:
        raise AssertionError(f"no section for {machine}")
    return m[1]


class HistorySiteTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not RCBENCH or not os.access(RCBENCH, os.X_OK):
            raise unittest.SkipTest("no rcbench given (argument or $RCBENCH)")
        cls.tmp = tempfile.TemporaryDirectory(prefix="rcbench_history_site_")
        d = cls.tmp.name
        run(sys.executable, os.path.join(SCRIPTS, "history-fixture"), "-o", f"{d}/fx", "--commits", "6",
            "--cells", "40", "--regress-at", "3", "--gzip")
        cls.db = f"{d}/h.sqlite"
        files = sorted(os.path.join(f"{d}/fx", f) for f in os.listdir(f"{d}/fx"))
        run(RCBENCH, "history", "add", *files, "--db", cls.db)
        cls.site = f"{d}/site"
        run(sys.executable, os.path.join(SCRIPTS, "history-site"), "--db", cls.db, "-o", cls.site,
            "--rcbench", RCBENCH)
        cls.pages = sorted(os.listdir(cls.site))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def read(self, name):
        with open(os.path.join(self.site, name), encoding="utf-8") as f:
            return f.read()

    def machine_page(self, name):
        index = self.read("index.html")
        m = re.search(rf'<a href="(machine-[0-9a-f]+\.html)">{name}</a>', index)
        self.assertIsNotNone(m, f"index.html names no machine {name}")
        return m[1]

    def test_every_page_needs_nothing_from_outside(self):
        self.assertIn("index.html", self.pages)
        self.assertEqual(len([p for p in self.pages if p.startswith("commit-")]), 6)
        self.assertEqual(len([p for p in self.pages if p.startswith("cell-")]), 40)
        for name in self.pages:
            text = self.read(name)
            self.assertNotRegex(text, r"""(?i)(src|href)\s*=\s*["']?(https?:|//)""", name)
            self.assertNotRegex(text, r"(?i)<link\b|@import|url\(", name)
            for link in re.findall(r'href="([^"#]+)"', text):
                self.assertIn(link, self.pages, f"{name} links to a page that is not there")

    def test_the_commit_page_lists_the_planted_regression_on_its_machine_only(self):
        page = f"commit-{commit_of(3)}.html"
        dom, log = browse("file://" + os.path.join(self.site, page), os.path.join(self.tmp.name, "p-commit"))
        self.assertEqual(element_text(dom, "js-errors"), "")
        self.assertEqual(console_lines(log), [])
        xeon = section(dom, "xeon-vm")
        self.assertRegex(xeon, rf'<code>{re.escape(PLANTED)}</code>.*?\+2[45]\.\d%.*?class="regression">regression')
        self.assertEqual(xeon.count('class="regression">regression'), 1, "one regression, the planted one")
        self.assertIn("no cell moved", section(dom, "epyc-vm"))
        # The commit before it: nothing moved anywhere.
        before = self.read(f"commit-{commit_of(2)}.html")
        self.assertNotIn('class="regression">regression', before)

    def test_the_machine_page_loads_without_errors(self):
        page = os.path.join(self.site, self.machine_page("xeon-vm"))
        t0 = time.monotonic()
        dom, log = browse("file://" + page, os.path.join(self.tmp.name, "p-machine"))
        print(f"\nmachine page ({os.path.getsize(page)} bytes) loaded and dumped in {time.monotonic() - t0:.2f} s",
              file=sys.stderr)
        self.assertEqual(element_text(dom, "js-errors"), "")
        self.assertTrue(re.search(r'<body[^>]*data-js="ready"', dom), "the page's script did not finish")
        self.assertEqual(console_lines(log), [])
        self.assertEqual(dom.count('class="tile"'), 40)
        self.assertEqual(dom.count('<circle class="reg"'), 1, "the planted regression is marked once")

    def test_a_broken_script_would_be_seen(self):
        broken = os.path.join(self.tmp.name, "broken.html")
        with open(broken, "w", encoding="utf-8") as f:
            f.write(self.read("index.html").replace("</body>", "<script>no_such_function();</script></body>"))
        dom, _ = browse("file://" + broken, os.path.join(self.tmp.name, "p-broken"))
        self.assertIn("no_such_function", element_text(dom, "js-errors"))

    def test_debians_python_builds_the_same_site(self):
        other = "/usr/bin/python3"
        if not os.access(other, os.X_OK):
            self.skipTest("no /usr/bin/python3")
        out = os.path.join(self.tmp.name, "site-debian")
        run(other, os.path.join(SCRIPTS, "history-site"), "--db", self.db, "-o", out, "--rcbench", RCBENCH)
        self.assertEqual(sorted(os.listdir(out)), self.pages)
        for name in ("index.html", f"commit-{commit_of(3)}.html", self.machine_page("epyc-vm")):
            with open(os.path.join(out, name), encoding="utf-8") as f:
                self.assertEqual(f.read(), self.read(name), name)


if CHROMIUM is None:
    for _name in ("test_the_commit_page_lists_the_planted_regression_on_its_machine_only",
                  "test_the_machine_page_loads_without_errors", "test_a_broken_script_would_be_seen"):
        setattr(HistorySiteTest, _name, unittest.skip("no headless browser: install chromium")(
            getattr(HistorySiteTest, _name)))


def measure(page):
    """Seconds Chromium takes to load PAGE and dump it, and an empty page's, for the difference."""
    with tempfile.TemporaryDirectory() as d:
        empty = os.path.join(d, "empty.html")
        with open(empty, "w") as f:
            f.write("<!DOCTYPE html><title>empty</title>")
        for label, p in (("empty page", empty), (page, os.path.abspath(page))):
            t0 = time.monotonic()
            dom, log = browse("file://" + p, os.path.join(d, "profile"))
            errors = element_text(dom, "js-errors") if 'id="js-errors"' in dom else ""
            print(f"{label}: {time.monotonic() - t0:.2f} s (script errors: {errors or 'none'}, "
                  f"console lines: {len(console_lines(log))})")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--measure":
        measure(sys.argv[2])
        sys.exit(0)
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        RCBENCH = sys.argv.pop(1)
    unittest.main(verbosity=2)
