"""Writes report.html: the blocks report.py builds, as one file that needs nothing else.

Everything is inside the file: the style sheet, a few lines of script, and every image as a
base64 data: URI, so the report can be mailed, attached to an issue or opened from a results
directory with no network and no server. The script does three things: a click on a sortable
table's header sorts its rows by that column (again: the other way); a click on a figure shows it
at full size; and it records any script error into the page (#js-errors), where a headless
browser's --dump-dom can see it (tests/test_report_html.py).

A test hook: opened as report.html#selftest:TABLE_ID:COLUMN (more pairs after ';'), the page clicks
header COLUMN (0-based) of table TABLE_ID twice after loading and writes the row order before and
after each click into #selftest-result, one line each: "TABLE_ID:COLUMN initial: a,b,c", then
"... ascending: ..." and "... descending: ...". A row is named by its data-name (the strategy).
"""

from __future__ import annotations

import base64
import html
import os
import re

import report
from report import Bullets, Figures, Heading, Para, Table, Val

STYLE = """
:root { --ink: #1d1d1f; --muted: #5f6368; --rule: #d9dce1; --band: #f5f6f8; --accent: #08306b; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); margin: 0 auto; padding: 0 24px 48px; max-width: 1680px; }
header.top { position: sticky; top: 0; background: rgba(255,255,255,0.96); border-bottom: 1px solid var(--rule);
             padding: 8px 0 6px; z-index: 2; }
header.top .stamp { color: var(--muted); font-size: 13px; }
header.top nav { font-size: 13px; margin-top: 2px; }
header.top nav a { margin-right: 14px; color: var(--accent); text-decoration: none; white-space: nowrap; }
header.top nav a:hover { text-decoration: underline; }
h1 { font-size: 24px; margin: 18px 0 6px; }
h1, h2, h3, h4 { scroll-margin-top: 64px; }
h2 { font-size: 20px; margin: 36px 0 8px; padding-top: 10px; border-top: 2px solid var(--rule); }
h3 { font-size: 17px; margin: 22px 0 6px; }
h4 { font-size: 15px; margin: 18px 0 4px; }
p { margin: 6px 0 10px; max-width: 1100px; }
p.headline { font-size: 16px; }
p.caption { color: #333; }
code { font: 13px/1.3 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--band);
       padding: 0 3px; border-radius: 3px; }
.figrow { display: flex; flex-wrap: wrap; gap: 20px; align-items: flex-start; }
.figrow > section { flex: 1 1 680px; min-width: 0; }
figure { margin: 8px 0; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--rule); cursor: zoom-in; display: block; }
figure img.full { max-width: none; cursor: zoom-out; }
figure.page { overflow-x: auto; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 1040px), 1fr)); gap: 4px 28px; }
.card { min-width: 0; }
.card p { font-size: 14px; }
.skipped { color: var(--muted); font-style: italic; }
.tablewrap { overflow-x: auto; margin: 4px 0 14px; }
table { border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--rule); padding: 3px 9px; text-align: left; vertical-align: top; }
th { background: var(--band); font-weight: 600; white-space: nowrap; }
td.num { text-align: right; white-space: nowrap; }
td.na { color: #9aa0a6; }
tbody tr:nth-child(even) { background: #fafbfc; }
tbody tr:hover { background: #eef3fb; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th:hover { background: #e8ecf2; }
table.sortable th::after { content: " \\2195"; color: #b0b4ba; font-weight: 400; }
table.sortable th[aria-sort="ascending"]::after { content: " \\25B2"; color: var(--accent); }
table.sortable th[aria-sort="descending"]::after { content: " \\25BC"; color: var(--accent); }
details > summary { cursor: pointer; color: var(--accent); margin: 6px 0; }
ul { margin: 4px 0 12px; }
#js-errors { color: #a00; white-space: pre-wrap; }
#selftest-result:empty, #js-errors:empty { display: none; }
"""

# Records errors first, before any other script can fail, so the page itself can say it broke.
ERROR_TRAP = """
(function () {
  var seen = [];
  function show() {
    var el = document.getElementById('js-errors');
    if (el) { el.textContent = seen.join('\\n'); }
  }
  window.rcbReportError = function (msg) { seen.push(String(msg)); show(); };
  window.addEventListener('error', function (e) {
    window.rcbReportError('error: ' + (e.message || e.type) + (e.filename ? ' at ' + e.filename + ':' + e.lineno : ''));
  });
  window.addEventListener('unhandledrejection', function (e) { window.rcbReportError('unhandled rejection: ' + e.reason); });
  var original = console.error;
  console.error = function () {
    window.rcbReportError('console.error: ' + Array.prototype.join.call(arguments, ' '));
    return original.apply(console, arguments);
  };
  document.addEventListener('DOMContentLoaded', show);
})();
"""

SCRIPT = """
(function () {
  'use strict';
  // A cell's sort key: data-v when the writer gave one (empty: no value, always last), else its text.
  function key(cell, numeric) {
    var v = cell.hasAttribute('data-v') ? cell.getAttribute('data-v') : cell.textContent.trim();
    if (v === '') { return null; }
    if (numeric) { var x = parseFloat(v); return isNaN(x) ? null : x; }
    return v.toLowerCase();
  }
  function sortBy(th) {
    var table = th.closest('table');
    var body = table.tBodies[0];
    var col = Array.prototype.indexOf.call(th.parentNode.children, th);
    var numeric = th.getAttribute('data-type') === 'num';
    var dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
    Array.prototype.forEach.call(th.parentNode.children, function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
    var rows = Array.prototype.slice.call(body.rows).map(function (row, i) {
      return { row: row, k: key(row.cells[col], numeric), i: i };
    });
    rows.sort(function (a, b) {
      if (a.k === null || b.k === null) {
        return a.k === b.k ? a.i - b.i : (a.k === null ? 1 : -1);  // no value: last either way
      }
      if (a.k < b.k) { return -dir; }
      if (a.k > b.k) { return dir; }
      return a.i - b.i;  // stable: ties keep the order they had
    });
    rows.forEach(function (r) { body.appendChild(r.row); });
  }
  function order(table) {
    return Array.prototype.map.call(table.tBodies[0].rows, function (r) {
      return r.getAttribute('data-name') || r.cells[0].textContent.trim();
    }).join(',');
  }
  // #selftest:TABLE:COLUMN[;TABLE:COLUMN...]: click each header twice, write the orders down.
  function selftest(specs) {
    var lines = [];
    specs.split(';').forEach(function (spec) {
      var parts = spec.split(':');
      var table = document.getElementById(parts[0]);
      if (!table) { lines.push(spec + ' no such table'); return; }
      var th = table.tHead.rows[0].cells[parseInt(parts[1], 10)];
      if (!th) { lines.push(spec + ' no such column'); return; }
      lines.push(spec + ' initial: ' + order(table));
      th.click();
      lines.push(spec + ' ' + th.getAttribute('aria-sort') + ': ' + order(table));
      th.click();
      lines.push(spec + ' ' + th.getAttribute('aria-sort') + ': ' + order(table));
    });
    document.getElementById('selftest-result').textContent = lines.join('\\n');
  }
  document.addEventListener('DOMContentLoaded', function () {
    Array.prototype.forEach.call(document.querySelectorAll('table.sortable th'), function (th) {
      th.setAttribute('title', 'sort by this column; click again for the other way');
      th.addEventListener('click', function () { sortBy(th); });
    });
    Array.prototype.forEach.call(document.querySelectorAll('figure img'), function (img) {
      img.addEventListener('click', function () { img.classList.toggle('full'); });
    });
    var hash = decodeURIComponent(window.location.hash || '');
    if (hash.indexOf('#selftest:') === 0) { selftest(hash.slice('#selftest:'.length)); }
    document.body.setAttribute('data-js', 'ready');
  });
})();
"""


def inline(text: str) -> str:
    """Markdown's inline subset the report uses, as HTML: `code`, **bold**, *emphasis*."""
    out = []
    for i, part in enumerate(re.split(r"`([^`]*)`", str(text))):
        if i % 2:
            out.append(f"<code>{html.escape(part)}</code>")
            continue
        part = html.escape(part, quote=False)
        part = re.sub(r"\*\*(\S(?:.*?\S)?)\*\*", r"<strong>\1</strong>", part)
        part = re.sub(r"(?<![\w*])\*(\S(?:.*?\S)?)\*(?![\w*])", r"<em>\1</em>", part)
        out.append(part)
    return "".join(out)


def data_uri(path: str) -> str:
    with open(path, "rb") as f:
        data = base64.b64encode(f.read()).decode("ascii")
    kind = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg"}.get(
        os.path.splitext(path)[1].lower(), "application/octet-stream")
    return f"data:{kind};base64,{data}"


class Ids:
    """Unique element ids: a family section's 'Throughput vs threads' appears once per family."""

    def __init__(self):
        self.used: set[str] = set()

    def __call__(self, wanted: str) -> str:
        base = report.slug(wanted)
        name, n = base, 2
        while name in self.used:
            name, n = f"{base}-{n}", n + 1
        self.used.add(name)
        return name


def numeric_columns(t: Table) -> list[bool]:
    cols = []
    for j in range(len(t.header)):
        keys = [row[j].key for row in t.rows if j < len(row) and isinstance(row[j], Val) and row[j].key is not None]
        cols.append(bool(keys) and all(isinstance(k, (int, float)) for k in keys))
    return cols


def render_table(t: Table, ids: Ids) -> list[str]:
    numeric = numeric_columns(t)
    attrs = f' id="{ids(t.anchor)}"' if t.anchor else ""
    cls = ' class="sortable"' if t.sortable else ""
    out = [f"<div class=\"tablewrap\"><table{attrs}{cls}>", "<thead><tr>"]
    num_attr = ' data-type="num"'
    out += [f'<th scope="col"{num_attr if numeric[j] else ""}>{inline(h)}</th>' for j, h in enumerate(t.header)]
    out += ["</tr></thead>", "<tbody>"]
    for i, row in enumerate(t.rows):
        name = f' data-name="{html.escape(t.row_names[i])}"' if i < len(t.row_names) else ""
        cells = []
        for j, c in enumerate(row):
            classes = []
            data = ""
            if isinstance(c, Val):
                if c.key is None:
                    data = ' data-v=""'
                    classes.append("na")
                else:
                    data = f' data-v="{html.escape(repr(float(c.key)) if numeric[j] else str(c.key))}"'
            if numeric[j]:
                classes.append("num")
            cls_attr = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{cls_attr}{data}>{inline(report.cell_text(c))}</td>")
        out.append(f"<tr{name}>" + "".join(cells) + "</tr>")
    out += ["</tbody></table></div>"]
    if t.fold:
        out = [f"<details><summary>{inline(t.fold)}</summary>"] + out + ["</details>"]
    return out


def render_figures(b: Figures, ids: Ids, toc: list) -> list[str]:
    anchor = ids(b.title)
    if b.level == 2:
        toc.append((anchor, b.title))
    out = [f"<section><h{b.level} id=\"{anchor}\">{inline(b.title)}</h{b.level}>"]
    if b.files:
        for i, path in enumerate(b.files):
            alt = b.title if i == 0 else f"{b.title}, page {i + 1}"
            out.append(f"<figure class=\"page\"><img src=\"{data_uri(path)}\" alt=\"{html.escape(alt)}\" "
                       f"title=\"{html.escape(os.path.basename(path))}: click for full size\"></figure>")
        out.append(f"<p class=\"caption\">{inline(b.sentence)}</p>")
    else:
        out.append(f"<p class=\"skipped\">Not drawn: {inline(b.skipped or '')}.</p>")
    return out + ["</section>"]


def render(blocks, title: str, stamp: str) -> str:
    ids = Ids()
    body: list[str] = []
    toc: list[tuple[str, str]] = []
    row: list[str] | None = None  # the overview's figures, side by side on a wide screen
    cards = False  # inside a grid of level-4 sections (the ranking's tables), two abreast on a wide screen
    for b in blocks:
        if isinstance(b, Figures) and b.level == 3 and b.row:
            if row is None:
                row = ['<div class="figrow">']
            row += render_figures(b, ids, toc)
            continue
        if row is not None:
            body += row + ["</div>"]
            row = None
        if isinstance(b, (Heading, Figures)) and cards:
            body.append("</div>" if b.level == 4 else "</div></div>")  # the card, and the grid unless one follows
            cards = b.level == 4 and isinstance(b, Heading)
            if cards:
                body.append('<div class="card">')
        elif isinstance(b, Heading) and b.level == 4:
            body.append('<div class="cards"><div class="card">')
            cards = True
        if isinstance(b, Heading):
            anchor = ids(b.anchor or b.text)
            if b.level == 1:
                continue  # the page header carries the title
            if b.level == 2:
                toc.append((anchor, re.sub(r"^Family: ", "", re.sub(r" \(`[^`]*`\)$", "", b.text))))
            body.append(f"<h{b.level} id=\"{anchor}\">{inline(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            cls = f' class="{b.role}"' if b.role else ""
            body.append(f"<p{cls}>{inline(b.text)}</p>")
        elif isinstance(b, Figures):
            body += render_figures(b, ids, toc)
        elif isinstance(b, Table):
            body += render_table(b, ids)
        elif isinstance(b, Bullets):
            body += (["<ul>"] + [f"<li>{inline(x)}</li>" for x in b.items] + ["</ul>"] if b.items
                     else [f"<p>{inline(b.empty)}</p>"])
    if row is not None:
        body += row + ["</div>"]
    if cards:
        body.append("</div></div>")
    nav = "".join(f'<a href="#{a}">{inline(t)}</a>' for a, t in toc)
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>",
        f"<script>{ERROR_TRAP}</script>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        '<pre id="js-errors"></pre>',
        '<pre id="selftest-result"></pre>',
        f"<h1>{inline(title)}</h1>",
        '<header class="top">',
        f'<div class="stamp">{inline(stamp)}</div>',
        f"<nav>{nav}</nav>",
        "</header>",
        *body,
        f"<script>{SCRIPT}</script>",
        "</body>",
        "</html>",
        "",
    ])
