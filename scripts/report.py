"""Writes report.md and report.html: an overview, a section per strategy family, then the details.

The report starts with what a reader takes in at once: two strategy × workload grids (cost over
plain on one thread, and the speedup at the most threads) and a ranked table per workload. A
section per strategy family follows with that family's figures, then the run's context, the
hardware floor, failures and warnings, and every median.

The report is built once as a list of blocks (headings, paragraphs, images, tables) and written
twice: as Markdown, which reads on GitHub next to the committed results and in any editor, and by
report_html.py as one self-contained HTML file whose tables sort when a header is clicked.
"""

from __future__ import annotations

import math
import os
import re
import statistics
from dataclasses import dataclass, field

import rcresults

FOLD_ROWS = 40
PREFIXES = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]


def si(x: float, unit: str = "") -> str:
    """3 significant digits with an SI prefix: 59.6 M, 812 k, 3.25."""
    for scale, prefix in PREFIXES:
        if abs(x) >= scale:
            return f"{x / scale:.3g} {prefix}{unit}"
    return f"{x:.3g} {unit}".rstrip()


def num(x: float) -> str:
    """About 3 significant digits and never an exponent: 1010, 15.7, 0.313."""
    return f"{x:.0f}" if abs(x) >= 100 else f"{x:.3g}"


def plural(n: int, stem: str, one: str = "", many: str = "s") -> str:
    return f"{n} {stem}{one if n == 1 else many}"


def times(x: float) -> str:
    return f"{x:.2f}×" if x < 10 else f"{x:.0f}×"


def esc(text) -> str:
    """A table cell: pipes would end the cell, newlines the row."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(esc(cell_text(c)) for c in row) + " |" for row in rows]
    return lines


# ---------------------------------------------------------------------------------------------
# Blocks: the report's content once, for both writers.


@dataclass
class Heading:
    level: int
    text: str
    anchor: str = ""  # the HTML id; made from the text when empty


@dataclass
class Para:
    text: str  # Markdown's inline subset: `code`, **bold**, *emphasis*
    role: str = ""  # "caption", "headline", "note": a class for the HTML's style sheet


@dataclass
class Val:
    """A table cell whose order is not its text's: 12.3 ±2% sorts by 12.3, "–" last."""
    text: str
    key: float | str | None = None


def cell_text(c) -> str:
    return c.text if isinstance(c, Val) else str(c)


@dataclass
class Table:
    header: list[str]
    rows: list[list]  # str, numbers or Val
    sortable: bool = False
    anchor: str = ""  # the HTML table's id
    fold: str = ""  # when set, folded under this summary (<details>)
    row_names: list[str] = field(default_factory=list)  # data-name of each HTML row: the strategy


@dataclass
class Bullets:
    items: list[str]
    empty: str


@dataclass
class Figures:
    """A plot's images with its sentence, or why it was not drawn."""
    title: str
    files: list[str]
    sentence: str = ""
    skipped: str | None = None
    level: int = 2
    row: str = ""  # figures sharing a row name stand side by side in the HTML where the screen allows


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def markdown(blocks) -> str:
    lines: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            lines += ["#" * b.level + " " + b.text, ""]
        elif isinstance(b, Para):
            lines += [b.text, ""]
        elif isinstance(b, Figures):
            lines += ["#" * b.level + " " + b.title, ""]
            if b.files:
                for i, f in enumerate(b.files):
                    alt = b.title if i == 0 else f"{b.title}, page {i + 1}"
                    lines += [f"![{alt}]({os.path.basename(f)})", ""]
                lines += [b.sentence, ""]
            else:
                lines += [f"*Not drawn: {b.skipped}.*", ""]
        elif isinstance(b, Table):
            if b.fold:
                lines += ["<details>", f"<summary>{b.fold}</summary>", ""] + table(b.header, b.rows) + ["", "</details>", ""]
            else:
                lines += table(b.header, b.rows) + [""]
        elif isinstance(b, Bullets):
            lines += [f"- {esc(x)}" for x in b.items] if b.items else [b.empty]
            lines += [""]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Context: one column per input file, since two files may come from two machines.


def _kib(n: float) -> str:
    return f"{n / 1024:g} MiB" if n >= 1024 else f"{n:g} KiB"


def topology_text(topo: dict) -> str:
    if not topo:
        return "not recorded"

    def count(key, word):
        n = topo.get(key)
        return f"{n} {word}{'' if n == 1 else 's'}" if n is not None else None

    parts = [x for x in (count("packages", "package"), count("cores", "core"), count("pus", "PU"),
                         count("numa_nodes", "NUMA node")) if x]
    caches = [f"L{c.get('level')} {_kib(c.get('size_kib', 0))} ×{c.get('count', 1)}" for c in topo.get("caches") or []]
    text = ", ".join(parts)
    if caches:
        text += "; " + ", ".join(caches)
    if topo.get("allowed_cpuset"):
        text += f"; allowed CPUs {topo['allowed_cpuset']}"
    return text


def frequency_text(fc: dict) -> str:
    if not fc:
        return "not recorded"
    text = str(fc.get("state", "unknown"))
    if fc.get("why"):
        text += f": {fc['why']}"
    if fc.get("changed"):
        text += f"; changed {', '.join(map(str, fc['changed']))}"
        text += ", restored afterwards" if fc.get("restored") else ", NOT restored"
    return text


def calibration_text(cal) -> str:
    if isinstance(cal, dict) and cal:
        ghz = [float(v) for v in cal.values() if isinstance(v, (int, float))]
        if ghz:
            return (f"{min(ghz):.2f}–{max(ghz):.2f} GHz over {len(ghz)} CPU(s), median "
                    f"{statistics.median(ghz):.2f} GHz (effective clock from a dependent-add chain)")
    if isinstance(cal, (int, float)):
        return f"{cal:.2f} GHz"
    return "not recorded"


def build_text(build: dict) -> str:
    if not build:
        return "not recorded"
    parts = [build.get("compiler"), build.get("build_type")]
    if (build.get("cxx_flags") or "").strip():
        parts.append(f"flags `{build['cxx_flags'].strip()}`")
    if build.get("allocator"):
        parts.append(f"allocator {build['allocator']}")
    if build.get("sanitizer"):
        parts.append(f"sanitizer {build['sanitizer']}")
    if build.get("rcbench_version"):
        parts.append(f"rcbench {build['rcbench_version']}")
    return ", ".join(str(p) for p in parts if p)


def commit_text(build: dict) -> str:
    commit = str(build.get("git_commit") or "")
    if not commit:
        return "not recorded"
    return f"`{commit[:12]}`" + (" + uncommitted changes (dirty)" if build.get("git_dirty") else "")


def options_text(opt: dict) -> str:
    if not opt:
        return "not recorded"
    parts = []
    if "size" in opt:
        parts.append(f"size {opt['size']}")
    if "repetitions" in opt:
        parts.append(f"{opt['repetitions']} repetitions" + (f" of ≥{opt['min_time_s']:g} s" if "min_time_s" in opt else ""))
    if opt.get("interleaved_repetitions") is not None:
        parts.append("interleaved" if opt["interleaved_repetitions"] else "back to back")
    if opt.get("placement"):
        parts.append(f"placement {opt['placement']}")
    if opt.get("threads"):
        parts.append("threads " + ",".join(map(str, opt["threads"])))
    if opt.get("oversubscribe"):
        parts.append("oversubscription allowed")
    for key, word in (("cv_threshold", "unstable above CV"), ("drift_threshold", "drift above")):
        if key in opt:
            parts.append(f"{word} {opt[key]:.0%}")
    return ", ".join(parts)


def scaling_sentence(res: rcresults.Results) -> str:
    """What the files' thread counts mean, in the words every plot and table is read by."""
    kind = res.scaling
    units = list(dict.fromkeys(s.strong_units for s in res.sources if s.strong_units))
    total = f" ({' or '.join(map(str, units))} units of one thread's work per iteration)" if units else ""
    per_item = ("ns/item is wall time per item of the whole work" if kind == "strong"
                else "ns/item is the time of one thread per item")
    return (f"{kind.capitalize()} scaling: {rcresults.SCALING_WORK[kind]}{total}; {per_item}, and speedup = "
            f"{rcresults.SPEEDUP_FORMULA[kind]}.")


def scaling_text(src: rcresults.Source) -> str:
    text = f"{src.scaling}: {rcresults.SCALING_WORK[src.scaling]}"
    return text + (f", {src.strong_units} units per iteration" if src.strong_units else "")


def suite_text(src: rcresults.Source) -> str:
    return src.suite or "suite not recorded"


def context_rows(src: rcresults.Source) -> list[tuple[str, str]]:
    ctx, rc = src.context, src.rcbench
    topo = rc.get("topology") or {}
    build = rc.get("build") or {}
    load = rc.get("load_average_1min", (ctx.get("load_avg") or [None])[0])
    return [
        ("host", src.host),
        ("CPU", str(topo.get("cpu_model") or f"{ctx.get('num_cpus', '?')} CPUs at {ctx.get('mhz_per_cpu', '?')} MHz")),
        ("topology", topology_text(topo)),
        ("frequency control", frequency_text(rc.get("frequency_control") or {})),
        ("calibration", calibration_text(rc.get("calibration_ghz"))),
        ("hardware counters", str(rc.get("perf_counters") or "not recorded")),
        ("build", build_text(build)),
        ("git commit", commit_text(build)),
        ("date", str(ctx.get("date") or "not recorded")),
        ("load average (1 min)", "not recorded" if load is None else f"{load:.2f}"),
        ("suite", suite_text(src)),
        ("scaling", scaling_text(src)),
        ("options", options_text(rc.get("options") or {})),
        ("benchmarks in file", str(src.benchmarks)),
    ]


def context_section(res: rcresults.Results) -> list:
    columns = [context_rows(src) for src in res.sources]
    header = [""] + [f"`{src.path}`" for src in res.sources]
    rows = [[f"**{name}**"] + [col[i][1] for col in columns] for i, (name, _) in enumerate(columns[0])]
    return [Heading(2, "Context"), Table(header, rows)]


def _joined(values, none: str) -> str:
    values = list(dict.fromkeys(v for v in values if v))
    return ", ".join(values) if values else none


def stamp(res: rcresults.Results) -> str:
    """Machine, suite and date: the line every figure carries, so an image passed around alone
    still says where and when it was measured."""
    machines = "; ".join(dict.fromkeys(s.machine for s in res.sources)) or "unknown machine"
    suites = list(dict.fromkeys(s.suite for s in res.sources))
    if suites == [None]:
        suite = "suite not recorded"
    else:
        suite = ("suite " if len(suites) == 1 else "suites ") + ", ".join(x or "not recorded" for x in suites)
    dates = sorted({s.date for s in res.sources if s.date})
    date = ("date not recorded" if not dates else dates[0] if len(dates) == 1 else
            ", ".join(dates) if len(dates) == 2 else f"{dates[0]} to {dates[-1]}")
    return f"{machines} · {suite} · {date}"


# ---------------------------------------------------------------------------------------------
# The hardware floor: what one incref+decref pair costs on this machine, measured by the harness's
# probe before the matrix. Strategy costs divided by it travel between machines better than ns.

PROBE_ROWS = [
    ("plain_pair_ns", "plain pair", "non-atomic incref+decref on a private line: the cheapest a count can be"),
    ("atomic_pair_ns", "atomic pair", "lock-prefixed incref+decref, uncontended"),
    ("contended_pair_ns", "contended pair", "atomic incref+decref on one line that two cores both write"),
    ("separate_lines_pair_ns", "separate-lines pair", "the same from two cores on two lines: no sharing"),
]


def probe(src: rcresults.Source) -> dict:
    p = src.rcbench.get("probe")
    return p if isinstance(p, dict) else {}


def floor_ns(cell: rcresults.Cell, key: str) -> float | None:
    v = probe(cell.source).get(key)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 else None


def in_floor(cell: rcresults.Cell, ns: float | None, key: str) -> str:
    """ns/item in units of a floor pair, which is per thread: under strong scaling ns/item spreads
    the wall time over every thread's items, so one thread spent `threads` times that per item."""
    base = floor_ns(cell, key)
    if ns is None or base is None:
        return "–"
    return f"{ns * (cell.threads if cell.scaling == 'strong' else 1) / base:.3g}"


def cpus_text(cpus) -> str:
    if cpus is None:
        return "–"
    return ", ".join(map(str, cpus)) if isinstance(cpus, list) else str(cpus)


def probe_section(res: rcresults.Results) -> list:
    sources = [src for src in res.sources if probe(src)]
    if not sources:
        return []
    header = ["pair", "what it measures"] + [f"`{src.label}`" for src in sources]
    rows = []
    for key, name, meaning in PROBE_ROWS:
        rows.append([name, meaning] + [
            f"{probe(src)[key]:.3g} ns" if isinstance(probe(src).get(key), (int, float)) else "–" for src in sources])
    if any("cpus" in probe(src) for src in sources):
        rows.append(["CPUs", "where the probe ran"] + [cpus_text(probe(src).get("cpus")) for src in sources])
    return [Heading(2, "Hardware floor"),
            Para("What one incref+decref pair costs on this machine, probed before the matrix. The medians table "
                 "divides each benchmark's time per item by it (per thread: under strong scaling ns/item × threads): "
                 "*× plain pair* is how many of the cheapest possible count "
                 "updates one item costs, and at 2 or more threads *× contended pair* is how many cache-line "
                 "handovers it costs, so a shared-object cell near 1× or above is bound by cache-line transfer, "
                 "not by its strategy's bookkeeping."),
            Table(header, rows)]


def flags(cell: rcresults.Cell) -> str:
    out = []
    if cell.precision_missed:
        out.append(f"precision not reached: {cell.precision_missed}")
    if cell.summary.get("incomplete"):
        out.append("incomplete")
    disturbed = cell.summary.get("disturbed_repetitions")
    if isinstance(disturbed, int) and disturbed > 0:
        out.append(f"{disturbed} disturbed")
    if cell.unstable:
        out.append("unstable")
    if cell.drift is not None:
        out.append(f"drift {cell.drift:.0%}")
    if cell.oversubscribed:
        out.append("oversubscribed")
    if cell.errors:
        out.append(f"{len(cell.errors)} error(s)")
    return ", ".join(out)


def one_thread(res: rcresults.Results, cell: rcresults.Cell) -> rcresults.Cell | None:
    return res.reference(cell.workload, cell.strategy, 1)


def speedup_of(res: rcresults.Results, cell: rcresults.Cell) -> float | None:
    one = one_thread(res, cell)
    return rcresults.speedup(one, cell) if one and cell.threads > 1 else None


def speedup_text(res: rcresults.Results, cell: rcresults.Cell) -> str:
    """Against the same benchmark at 1 thread, by the file's scaling; blank at 1 thread."""
    if cell.threads == 1:
        return ""
    gain = speedup_of(res, cell)
    return "–" if gain is None else f"{gain:.2f}×"


def ns_val(cell: rcresults.Cell | None) -> Val:
    ns = cell.median("ns_per_item") if cell else None
    return Val("–", None) if ns is None else Val(num(ns), ns)


def interval_val(cell: rcresults.Cell | None) -> Val:
    """The 95% interval of the median ns/item with its half width; sorts by the half width."""
    ci = cell.ci95() if cell else None
    hw = cell.half_width if cell else None
    if ci is None or hw is None:
        return Val("–", None)
    return Val(f"{num(ci[0])}–{num(ci[1])} ±{hw:.1%}", hw)


def times_val(x: float | None) -> Val:
    return Val("–", None) if x is None else Val(times(x), x)


def collections_val(cell: rcresults.Cell | None) -> Val:
    """A collecting strategy's stop-the-world collections per million items, from its counted pass
    (the counter is per item); – for a strategy that does not collect."""
    per_item = cell.median("collections") if cell else None
    return Val("–", None) if per_item is None else Val(f"{per_item * 1e6:.3g}", per_item)


def medians_section(res: rcresults.Results, workload_order, strategy_order) -> list:
    many_files = len(res.sources) > 1
    floors = any(probe(src) for src in res.sources)
    header = ["workload", "strategy", "threads", "ns/item", "cycles/item", "items/s", "speedup", "CV", "flags"]
    if floors:
        header[4:4] = ["× plain pair", "× contended pair"]
    if many_files:
        header.append("file")
    rank_w = {w: i for i, w in enumerate(workload_order)}
    rank_s = {s: i for i, s in enumerate(strategy_order)}
    rows, names = [], []
    for c in sorted(res.measured(), key=lambda c: (rank_w.get(c.workload, len(rank_w)), c.workload,
                                                    rank_s.get(c.strategy, len(rank_s)), c.strategy, c.threads)):
        ips = c.median("items_per_second")
        ns, cycles = c.median("ns_per_item"), c.median("cycles_per_item")
        ns_text = "–" if ns is None else num(ns)
        if ns is not None and c.half_width is not None:
            ns_text += f" ±{c.half_width:.1%}"
        gain = speedup_of(res, c)
        # Keys that sort in the tables' own order (registry, then family), not alphabetically.
        row = [Val(c.workload, f"{rank_w.get(c.workload, len(rank_w)):04d} {c.workload}"),
               Val(c.strategy, f"{rank_s.get(c.strategy, len(rank_s)):04d} {c.strategy}"),
               Val(str(c.threads), c.threads), Val(ns_text, ns),
               Val("–" if cycles is None else num(cycles), cycles), Val("–" if ips is None else si(ips), ips),
               Val(speedup_text(res, c), gain), Val("–" if c.cv is None else f"{c.cv:.1%}", c.cv), flags(c)]
        if floors:
            row[4:4] = [in_floor(c, ns, "plain_pair_ns"),
                        in_floor(c, ns, "contended_pair_ns") if c.threads > 1 else ""]
        if many_files:
            row.append(c.source.label)
        rows.append(row)
        names.append(c.strategy)
    blocks = [Heading(2, "Medians"),
              Para(f"{scaling_sentence(res)} Medians over the repetitions. ns/item has half its 95% "
                   "interval where the file has one (±2% is 0.98× to 1.02× the median); items/s counts all "
                   "threads together; speedup is against the same benchmark at 1 thread; CV is the spread of the "
                   "per-iteration time; *precision not reached* names "
                   "why the run stopped before the interval was as narrow as asked (budget: out of time; "
                   "disturbed: too many repetitions thrown out; bimodal: the times form two groups, so more "
                   "repetitions would not narrow it); *unstable* means the CV passed "
                   "the run's threshold (rerun with more `--repetitions` on a quieter machine), *drift* that the "
                   "calibrated clock changed by more than its threshold during a repetition.")]
    # A full matrix runs to hundreds of rows; folded, the report still fits a screen or two.
    fold = f"All {len(rows)} benchmarks" if len(rows) > FOLD_ROWS else ""
    return blocks + [Table(header, rows, sortable=True, anchor="medians-table", fold=fold, row_names=names)]


# ---------------------------------------------------------------------------------------------
# The ranking: per workload, who is fastest on one thread and at the most threads.


@dataclass
class Rank:
    strategy: str
    one: rcresults.Cell | None
    many: rcresults.Cell | None
    over_plain: float | None  # ns/item at 1 thread ÷ plain's
    over_ideal: float | None  # ns/item at the most threads ÷ plain's 1-thread figure scaled to them
    speedup: float | None


def ideal_ns(plain_ns: float, threads: int, scaling: str) -> float:
    """plain's 1-thread ns/item as perfect scaling would make it at `threads`: the dashed ideal of
    the throughput figures. Weak: each thread keeps plain's time per item; strong: the fixed total
    is done `threads` times as fast."""
    return plain_ns if scaling == "weak" else plain_ns / threads


def ranking(res: rcresults.Results, w: str, strategies: list[str]) -> tuple[int, list[Rank]]:
    """The most threads `w` ran at, and its strategies fastest first by median ns/item at 1 thread
    (those without a 1-thread figure after, by the most threads')."""
    most = max(res.threads(w))
    plain = res.reference(w, "plain", 1)
    plain_ns = plain.median("ns_per_item") if plain else None
    ranks = []
    for s in strategies:
        one, many = res.get(w, s, 1), res.get(w, s, most) if most > 1 else None
        if one is None and many is None:
            continue
        ns1 = one.median("ns_per_item") if one else None
        nsn = many.median("ns_per_item") if many else None
        ranks.append(Rank(
            s, one, many,
            ns1 / plain_ns if ns1 and plain_ns else None,
            nsn / ideal_ns(plain_ns, most, many.scaling) if nsn and plain_ns else None,
            rcresults.speedup(one, many) if one and many else None))
    inf = math.inf

    def order(r: Rank):
        ns1 = r.one.median("ns_per_item") if r.one else None
        nsn = r.many.median("ns_per_item") if r.many else None
        return (ns1 is None, ns1 if ns1 is not None else (nsn if nsn is not None else inf), r.strategy)
    return most, sorted(ranks, key=order)


def overlaps(a: rcresults.Cell | None, b: rcresults.Cell | None) -> bool:
    ia, ib = (a.ci95() if a else None), (b.ci95() if b else None)
    return bool(ia and ib and ia[0] <= ib[1] and ib[0] <= ia[1])


def leader_text(ranks: list[Rank], attr: str, threads: int) -> str | None:
    """'frozen (0.98× plain)', naming the runners-up whose intervals overlap its own. plain is left
    out: it is the unsynchronised floor every ratio is read against, not a contender."""
    ranked = sorted((r for r in ranks if r.strategy != "plain" and getattr(r, attr)
                     and getattr(r, attr).median("ns_per_item")),
                    key=lambda r: getattr(r, attr).median("ns_per_item"))
    if not ranked:
        return None
    first = ranked[0]
    if attr == "one":
        text = f"**{first.strategy}**" + (f" ({times(first.over_plain)} plain)" if first.over_plain else "")
    else:
        facts = [f"{times(first.speedup)} speedup" if first.speedup else "",
                 f"{times(first.over_ideal)} the ideal's time per item" if first.over_ideal else ""]
        facts = [f for f in facts if f]
        text = f"**{first.strategy}**" + (f" ({', '.join(facts)})" if facts else "")
    tied = [r.strategy for r in ranked[1:] if overlaps(getattr(first, attr), getattr(r, attr))]
    if tied:
        text += f", tied within the 95% intervals with {', '.join(tied[:3])}" + (" and more" if len(tied) > 3 else "")
    return text


def ranking_section(res: rcresults.Results, w_order: list[str], s_order: list[str]) -> list:
    workloads = [w for w in w_order if any(c.workload == w for c in res.measured())]
    if not workloads:
        return []
    kind = res.scaling
    most_all = max(res.threads())
    blocks = [Heading(3, "Ranking per workload", "ranking"),
              Para("Fastest first by median ns/item at 1 thread. *95% interval*: of the median ns/item, with its "
                   "half width; – where the file has none. *× plain* at 1 thread: ns/item ÷ plain's. At the most "
                   "threads, *× ideal*: ns/item ÷ plain's 1-thread figure scaled to that many threads (the dashed "
                   "ideal of the throughput figures: " + ("plain's ns/item itself under weak scaling" if kind == "weak"
                                                         else "plain's ns/item ÷ threads under strong scaling")
                   + "), and *speedup*: " + rcresults.SPEEDUP_FORMULA[kind] + ". In report.html a click on a column "
                   "header sorts the table by it.", "caption")]
    for w in workloads:
        strategies = [s for s in s_order if any(c.workload == w and c.strategy == s for c in res.measured())]
        most, ranks = ranking(res, w, strategies)
        at = f"@{most}"
        header = ["#", "strategy", "family", "ns/item @1", "95% interval @1", "× plain @1"]
        if most > 1:
            header += [f"ns/item {at}", f"95% interval {at}", f"× ideal {at}", f"speedup {at}"]
        # The interpreter programs say how often a collecting strategy (deferred, cpython_ft)
        # stopped the world: CPython's rule schedules collections by allocation.
        collecting = w.startswith("pyvm_") and any(
            c.median("collections") is not None for r in ranks for c in (r.one, r.many) if c)
        if collecting:
            header += ["collections/M items @1"] + ([f"collections/M items {at}"] if most > 1 else [])
        rows = []
        for i, r in enumerate(ranks, 1):
            row = [Val(str(i), i), r.strategy, rcresults.family(r.strategy),
                   ns_val(r.one), interval_val(r.one), times_val(r.over_plain)]
            if most > 1:
                row += [ns_val(r.many), interval_val(r.many), times_val(r.over_ideal), times_val(r.speedup)]
            if collecting:
                row += [collections_val(r.one)] + ([collections_val(r.many)] if most > 1 else [])
            rows.append(row)
        leads = []
        if (lead := leader_text(ranks, "one", 1)):
            leads.append(f"fastest at 1 thread{' (plain aside)' if any(r.strategy == 'plain' for r in ranks) else ''}: "
                         f"{lead}")
        if most > 1 and (lead := leader_text(ranks, "many", most)):
            leads.append(f"at {most} threads: {lead}")
        title = w + (f" (most threads here: {most})" if most != most_all else "")
        blocks += [Heading(4, title, f"rank-{slug(w)}")]
        if leads:
            blocks.append(Para(sentence_case("; ".join(leads)) + "."))
        blocks.append(Table(header, rows, sortable=True, anchor=f"rank-{slug(w)}-table",
                            row_names=[r.strategy for r in ranks]))
    return blocks


def sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


def listing(title: str, items: list[str], empty: str) -> list:
    return [Heading(2, title), Bullets(items, empty)]


def failure_lines(res: rcresults.Results) -> list[str]:
    """The harness's own failure list, plus errored benchmarks it does not already name (a file
    from another tool, or one cut short, has only the latter)."""
    lines = []
    for src in res.sources:
        lines += [f"{src.label}: {f}" for f in src.rcbench.get("failures") or []]
    for c in res.errored():
        if not any(c.name in line for line in lines):
            lines += [f"{c.source.label}: {c.name}: {e}" for e in dict.fromkeys(c.errors)]
    return list(dict.fromkeys(lines))


def problems_section(res: rcresults.Results, problems) -> list:
    # The harness repeats some notes among its warnings; each line once is enough.
    warnings = []
    for src in res.sources:
        for w in list(src.rcbench.get("warnings") or []) + list(src.rcbench.get("notes") or []):
            warnings.append(f"{src.label}: {w}")
    warnings += [f"input: {n}" for n in res.notes]
    warnings += [f"input `{path}` skipped: {reason}" for path, reason in problems]
    return (listing("Failures", failure_lines(res), "None.")
            + listing("Warnings and notes", list(dict.fromkeys(warnings)), "None."))


def headline(res: rcresults.Results, workload_order, strategy_order) -> str:
    cells = res.measured()
    threads = res.threads()
    span = f"{threads[0]}–{threads[-1]} threads" if len(threads) > 1 else plural(threads[0], "thread")
    unstable = sum(c.unstable for c in cells)
    imprecise = sum(c.precision_missed is not None for c in cells)
    dates = sorted({s.date for s in res.sources if s.date})
    suites = list(dict.fromkeys(s.suite for s in res.sources))
    suite = ("suite not recorded" if suites == [None] else
             ("suite " if len(suites) == 1 else "suites ") + ", ".join(x or "not recorded" for x in suites))
    families = list(dict.fromkeys(rcresults.family(s) for s in strategy_order))
    in_families = f" in {len(families)} families ({', '.join(families)})" if len(families) > 1 else ""
    return (f"{plural(len(cells), 'benchmark')}: {plural(len(workload_order), 'workload')} × "
            f"{plural(len(strategy_order), 'strateg', 'y', 'ies')}{in_families} at "
            f"{span}, {res.scaling} scaling, {suite}" + (f", run {', '.join(dates)}" if dates else "") +
            f". {unstable} unstable, " + (f"{imprecise} short of the asked precision, " if imprecise else "") +
            f"{len(failure_lines(res))} failed.")


def figures(p, level: int = 2, row: str = "") -> Figures:
    return Figures(p.title, list(p.files), p.sentence, p.skipped, level, row)


def blocks_of(res: rcresults.Results, plots, problems, w_order: list[str], s_order: list[str]) -> list:
    """The whole report. `plots` in display order, each with .title, .files (or .skipped), .sentence,
    and .section: "overview", "comparison", "family:<name>" or anything else for a section of its own
    after the families."""
    hosts = ", ".join(dict.fromkeys(s.host for s in res.sources))
    cpus = ", ".join(x for x in dict.fromkeys(" ".join(str((s.rcbench.get("topology") or {}).get("cpu_model") or "").split())
                                              for s in res.sources) if x)
    blocks: list = [Heading(1, f"rcbench results: {hosts}" + (f" ({cpus})" if cpus else ""), "top"),
                    Para(headline(res, w_order, s_order), "headline")]
    overview = [p for p in plots if p.section == "overview"]
    blocks += [Heading(2, "Overview", "overview"),
               Para("The two grids first: what each strategy costs over plain on one thread, and how much faster "
                    "the most threads do the work than one. The tables under them rank the strategies per "
                    "workload; the sections after them go family by family.", "caption")]
    blocks += [figures(p, 3, "overview") for p in overview]
    blocks += ranking_section(res, w_order, s_order)
    comparison = [p for p in plots if p.section == "comparison"]
    blocks += [figures(p) for p in comparison if p.files]
    families = list(dict.fromkeys(p.section for p in plots if p.section.startswith("family:")))
    for fam_section in families:
        fam = fam_section.split(":", 1)[1]
        members = [s for s in s_order if rcresults.family(s) == fam]
        blocks += [Heading(2, f"Family: {rcresults.FAMILIES.get(fam, fam)} (`{fam}`)", f"family-{slug(fam)}"),
                   Para(f"Strategies: {', '.join(members)}.")]
        blocks += [figures(p, 3) for p in plots if p.section == fam_section]
    rest = [p for p in plots if p.section not in ("overview", "comparison") and not p.section.startswith("family:")]
    blocks += [figures(p) for p in rest]
    blocks += [figures(p) for p in comparison if not p.files]
    blocks += context_section(res)
    blocks += probe_section(res)
    blocks += problems_section(res, problems)
    blocks += medians_section(res, w_order, s_order)
    return blocks


def write_atomically(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)  # a reader never sees half a report


def write(res: rcresults.Results, plots, problems, out_dir: str, w_order: list[str], s_order: list[str]) -> list[str]:
    """report.md and report.html from the same blocks; returns their paths. `problems` the (path,
    reason) of inputs left out; the orders are the plots' own, so tables and plots agree."""
    import report_html  # here, not at the top: report_html imports this module
    blocks = blocks_of(res, plots, problems, w_order, s_order)
    md = os.path.join(out_dir, "report.md")
    write_atomically(md, markdown(blocks))
    html = os.path.join(out_dir, "report.html")
    write_atomically(html, report_html.render(blocks, title=blocks[0].text, stamp=stamp(res)))
    return [md, html]
