"""Writes report.md: the plots with a sentence each, the run's context, medians, failures, warnings.

Markdown, so it reads on GitHub next to the committed results and in any editor. The plots come
first because they are what a reader opens the report for; the context says whether to trust them.
"""

from __future__ import annotations

import os
import statistics

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
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return lines


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
        ("scaling", scaling_text(src)),
        ("options", options_text(rc.get("options") or {})),
        ("benchmarks in file", str(src.benchmarks)),
    ]


def context_section(res: rcresults.Results) -> list[str]:
    columns = [context_rows(src) for src in res.sources]
    header = [""] + [f"`{src.path}`" for src in res.sources]
    rows = [[f"**{name}**"] + [col[i][1] for col in columns] for i, (name, _) in enumerate(columns[0])]
    return ["## Context", ""] + table(header, rows) + [""]


# ---------------------------------------------------------------------------------------------


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


def probe_section(res: rcresults.Results) -> list[str]:
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
    return (["## Hardware floor", "",
             "What one incref+decref pair costs on this machine, probed before the matrix. The medians table "
             "divides each benchmark's time per item by it (per thread: under strong scaling ns/item × threads): "
             "*× plain pair* is how many of the cheapest possible count "
             "updates one item costs, and at 2 or more threads *× contended pair* is how many cache-line "
             "handovers it costs, so a shared-object cell near 1× or above is bound by cache-line transfer, "
             "not by its strategy's bookkeeping.", ""]
            + table(header, rows) + [""])


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


def speedup_text(res: rcresults.Results, cell: rcresults.Cell) -> str:
    """Against the same benchmark at 1 thread, by the file's scaling; blank at 1 thread."""
    if cell.threads == 1:
        return ""
    one = res.reference(cell.workload, cell.strategy, 1)
    gain = rcresults.speedup(one, cell) if one else None
    return "–" if gain is None else f"{gain:.2f}×"


def medians_section(res: rcresults.Results, workload_order, strategy_order) -> list[str]:
    many_files = len(res.sources) > 1
    floors = any(probe(src) for src in res.sources)
    header = ["workload", "strategy", "threads", "ns/item", "cycles/item", "items/s", "speedup", "CV", "flags"]
    if floors:
        header[4:4] = ["× plain pair", "× contended pair"]
    if many_files:
        header.append("file")
    rank_w = {w: i for i, w in enumerate(workload_order)}
    rank_s = {s: i for i, s in enumerate(strategy_order)}
    rows = []
    for c in sorted(res.measured(), key=lambda c: (rank_w.get(c.workload, len(rank_w)), c.workload,
                                                    rank_s.get(c.strategy, len(rank_s)), c.strategy, c.threads)):
        ips = c.median("items_per_second")
        ns, cycles = c.median("ns_per_item"), c.median("cycles_per_item")
        ns_text = "–" if ns is None else num(ns)
        if ns is not None and c.half_width is not None:
            ns_text += f" ±{c.half_width:.1%}"
        row = [c.workload, c.strategy, c.threads, ns_text,
               "–" if cycles is None else num(cycles), "–" if ips is None else si(ips), speedup_text(res, c),
               "–" if c.cv is None else f"{c.cv:.1%}", flags(c)]
        if floors:
            row[4:4] = [in_floor(c, ns, "plain_pair_ns"),
                        in_floor(c, ns, "contended_pair_ns") if c.threads > 1 else ""]
        if many_files:
            row.append(c.source.label)
        rows.append(row)
    lines = ["## Medians", "",
             f"{scaling_sentence(res)} Medians over the repetitions. ns/item has half its 95% "
             "interval where the file has one (±2% is 0.98× to 1.02× the median); items/s counts all "
             "threads together; speedup is against the same benchmark at 1 thread; CV is the spread of the "
             "per-iteration time; *precision not reached* names "
             "why the run stopped before the interval was as narrow as asked (budget: out of time; "
             "disturbed: too many repetitions thrown out; bimodal: the times form two groups, so more "
             "repetitions would not narrow it); *unstable* means the CV passed "
             "the run's threshold (rerun with more `--repetitions` on a quieter machine), *drift* that the "
             "calibrated clock changed by more than its threshold during a repetition.", ""]
    if len(rows) <= FOLD_ROWS:
        return lines + table(header, rows) + [""]
    # A full matrix runs to hundreds of rows; folded, the report still fits a screen or two.
    return (lines + ["<details>", f"<summary>All {len(rows)} benchmarks</summary>", ""]
            + table(header, rows) + ["", "</details>", ""])


def listing(title: str, items: list[str], empty: str) -> list[str]:
    lines = [f"## {title}", ""]
    lines += [f"- {esc(x)}" for x in items] if items else [empty]
    return lines + [""]


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


def problems_section(res: rcresults.Results, problems) -> list[str]:
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
    dates = sorted({str(s.context.get("date"))[:16].replace("T", " ") for s in res.sources if s.context.get("date")})
    families = list(dict.fromkeys(rcresults.family(s) for s in strategy_order))
    in_families = f" in {len(families)} families ({', '.join(families)})" if len(families) > 1 else ""
    return (f"{plural(len(cells), 'benchmark')}: {plural(len(workload_order), 'workload')} × "
            f"{plural(len(strategy_order), 'strateg', 'y', 'ies')}{in_families} at "
            f"{span}, {res.scaling} scaling" + (f", run {', '.join(dates)}" if dates else "") +
            f". {unstable} unstable, " + (f"{imprecise} short of the asked precision, " if imprecise else "") +
            f"{len(failure_lines(res))} failed.")


def write(res: rcresults.Results, plots, problems, out_dir: str, w_order: list[str], s_order: list[str]) -> str:
    """`plots` in display order, each with .title, .file or .skipped, and .sentence; `problems`
    the (path, reason) of inputs left out; the orders are the plots' own, so table and plots agree."""
    hosts = ", ".join(dict.fromkeys(s.host for s in res.sources))
    cpus = ", ".join(x for x in dict.fromkeys(str((s.rcbench.get("topology") or {}).get("cpu_model") or "")
                                              for s in res.sources) if x)
    lines = [f"# rcbench results: {hosts}" + (f" ({cpus})" if cpus else ""), "",
             headline(res, w_order, s_order), ""]
    for p in plots:
        lines += [f"## {p.title}", ""]
        if p.file:
            name = os.path.basename(p.file)
            lines += [f"![{p.title}]({name})", "", p.sentence, ""]
        else:
            lines += [f"*Not drawn: {p.skipped}.*", ""]
    lines += context_section(res)
    lines += probe_section(res)
    lines += problems_section(res, problems)
    lines += medians_section(res, w_order, s_order)
    path = os.path.join(out_dir, "report.md")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    os.replace(tmp, path)  # a reader never sees half a report
    return path
