"""Reads rcbench results files into cells: one (workload, strategy, threads) benchmark each.

A results file is Google Benchmark's JSON with `context.rcbench` added (see harness/run.cpp).
Several files may be given. Cells with keys no earlier file has are merged in, so a 16-core scaling
run can be laid over a 2-core run. A cell whose key an earlier file already has takes that cell's
place in `cells`, and the earlier one is kept in `baselines`: BASE NEW is a before/after pair, and
comparison() gives NEW/BASE per cell. Each cell remembers the file it came from, because two files
may describe two machines.

Nothing here imports matplotlib, so a comparison or regression script can share it.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import re
import statistics
from dataclasses import dataclass, field

NAME = re.compile(r"^(?P<workload>[^/]+)/(?P<strategy>[^/]+)/threads:(?P<threads>\d+)$")

# Numbers every benchmark carries whatever its strategy: Google Benchmark's bookkeeping and the
# harness's timing figures. Any other number on an entry is a strategy counter or, when
# is_cow_figure() says so, a copy-on-write figure; both lists grow without touching this file.
BOOKKEEPING = frozenset({
    "cpu_time", "real_time", "iterations", "repetitions", "repetition_index", "threads",
    "family_index", "per_family_instance_index",
})
TIMING = frozenset({
    "items_per_second", "ns_per_item", "cycles_per_item", "ghz_before", "ghz_after",
    "items_per_thread", "checksum_ok",
})


def is_cow_figure(name: str) -> bool:
    """fork_cow's memory figures: cow_kib_per_child, or kib_dirtied_per_child as the workload's
    first version names them. Nothing else the harness or a strategy reports says 'dirtied'."""
    return name.startswith("cow_") or "dirtied" in name.split("_")

# The harness divides summed counters by the items processed but reports maxima raw
# (strategies/strategy.h, Aggregate::max); the JSON does not say which is which.
PEAK_COUNTERS = frozenset({"peak_pending_frees", "frozen_objects", "slot_pages"})


def is_peak(counter: str) -> bool:
    return counter in PEAK_COUNTERS or counter.startswith("peak_")


def is_strategy_counter(name: str, source: "Source") -> bool:
    """A strategy counter, not a timing figure or a number the workload measured itself
    (fork_cow's children, graph_mib, KiB dirtied). Files declare their counters; older ones are
    read by elimination."""
    if name in BOOKKEEPING or name in TIMING or is_cow_figure(name):
        return False
    declared = source.declared_counters
    return name in declared if declared is not None else True


# Strategy families: the one table that groups strategies for the plots. Each family gets a hue
# and its own column of throughput panels; within a family the order here is the order of lines,
# bars, rows and colour shades. A new strategy needs one line here; one not listed falls into
# "other" and is still drawn.
FAMILIES = {  # family -> the words a plot uses for it
    "seeds": "seed strategies",
    "cpython": "CPython's",
    "scalable": "scalable counters",
    "library": "library peers",
    "other": "other",
}
FAMILY_OF = {
    "plain": "seeds",
    "gil": "seeds",
    "atomic": "seeds",
    "buffered": "seeds",
    "biased": "seeds",
    "frozen": "seeds",
    "remote": "seeds",
    "remote_padded": "seeds",
    "immortal": "cpython",
    "deferred": "cpython",
    "cpython_ft": "cpython",
    "sticky": "scalable",
    "sharded": "scalable",
    "refcache": "scalable",
    "libstdcxx": "library",
    "boost_intrusive": "library",
}
# The references every family is read against: plain is the cost floor and the source of the
# ideal-scaling line, atomic the naive thread-safe count a new strategy has to beat.
REFERENCES = ("plain", "atomic")


def family(strategy: str) -> str:
    return FAMILY_OF.get(strategy, "other")


def family_members(strategy: str) -> list[str]:
    """The strategies of `strategy`'s family in table order; an unknown one is alone in it."""
    fam = family(strategy)
    return [s for s, f in FAMILY_OF.items() if f == fam] if fam != "other" else [strategy]


def strategy_order(names) -> list[str]:
    """Family by family in FAMILIES' order, each in FAMILY_OF's order; unknown ones last, by name."""
    fams, known = list(FAMILIES), list(FAMILY_OF)
    return sorted(set(names), key=lambda s: (fams.index(family(s)), known.index(s) if s in known else 0, s))


class InputError(Exception):
    """A file that gives nothing to plot; the message is one line naming why."""


# `rcbench run --scaling`: what the work at N threads is, and so what speedup means
# (harness/engine/measure.h). A file written before the option is weak, all the harness did then.
SCALING_WORK = {
    "weak": "each thread does the full per-thread work",
    "strong": "one fixed total of work is divided among the threads",
}
SPEEDUP_FORMULA = {"weak": "T1 × N / TN", "strong": "T1 / TN"}


@dataclass
class Source:
    path: str
    context: dict
    benchmarks: int = 0

    @property
    def label(self) -> str:
        return os.path.basename(self.path)

    @property
    def rcbench(self) -> dict:
        return self.context.get("rcbench") or {}

    @property
    def machine(self) -> str:
        # CPU model strings come padded ("Oxide Virtual Turin-like Processor      "): one space each.
        cpu = " ".join(str((self.rcbench.get("topology") or {}).get("cpu_model") or "").split())
        return f"{self.host}, {cpu}" if cpu else self.host

    @property
    def suite(self) -> str | None:
        """The suite `rcbench run` was asked for (headline, seeds, ..., all; custom when cells were
        picked with --strategy/--workload), or None in files written before the harness recorded it."""
        suite = (self.rcbench.get("options") or {}).get("suite")
        return str(suite) if isinstance(suite, str) and suite.strip() else None

    @property
    def date(self) -> str | None:
        """When the run started, to the minute: '2026-11-30 06:27'."""
        date = self.context.get("date")
        return str(date)[:16].replace("T", " ") if date else None

    @property
    def declared_counters(self) -> dict | None:
        """The strategy counters the harness declares in the file (name -> {unit, meaning}), or
        None for files written before it declared them."""
        declared = self.rcbench.get("strategy_counters")
        return declared if isinstance(declared, dict) else None

    @property
    def host(self) -> str:
        return str(self.rcbench.get("host") or self.context.get("host_name") or "unknown host")

    @property
    def scaling(self) -> str:
        return str(self.rcbench.get("scaling") or "weak")

    @property
    def strong_units(self) -> int | None:
        """U, the units of work every strong-scaling iteration holds at every thread count."""
        units = self.rcbench.get("strong_units")
        return units if isinstance(units, int) and not isinstance(units, bool) else None


@dataclass
class Cell:
    workload: str
    strategy: str
    threads: int
    source: Source
    reps: list[dict] = field(default_factory=list)  # error-free repetitions in the statistics, raw entries
    left_out: int = 0  # repetitions the run left out of its statistics (disturbed)
    errors: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)  # the entry's `rcbench` block
    median_entry: dict | None = None  # the `median` aggregate, which carries the 95% interval

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.workload, self.strategy, self.threads)

    @property
    def name(self) -> str:
        return f"{self.workload}/{self.strategy}/threads:{self.threads}"

    def values(self, key: str) -> list[float]:
        out = []
        for r in self.reps:
            v = r.get(key)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                out.append(float(v))
        return out

    def median(self, key: str) -> float | None:
        v = self.values(key)
        return statistics.median(v) if v else None

    def spread(self, key: str) -> tuple[float, float] | None:
        """Fastest and slowest repetition: with five repetitions a quantile would be one of them
        anyway, and the full range hides nothing."""
        v = self.values(key)
        return (min(v), max(v)) if v else None

    def numeric_keys(self) -> set[str]:
        keys: set[str] = set()
        for r in self.reps:
            keys.update(k for k, v in r.items() if isinstance(v, (int, float)) and not isinstance(v, bool))
        return keys

    @property
    def summary(self) -> dict:
        return self.meta.get("summary") or {}

    @property
    def cv(self) -> float | None:
        if isinstance(self.summary.get("cv"), (int, float)):
            return float(self.summary["cv"])
        # Files from other tools: the harness's definition, over per-iteration time.
        v = self.values("real_time")
        if len(v) < 2 or statistics.mean(v) <= 0:
            return None
        return statistics.stdev(v) / statistics.mean(v)

    @property
    def unstable(self) -> bool:
        if "unstable" in self.summary:
            return bool(self.summary["unstable"])
        threshold = (self.source.rcbench.get("options") or {}).get("cv_threshold", 0.05)
        return self.cv is not None and self.cv > threshold

    def ci95(self) -> tuple[float, float] | None:
        """Distribution-free 95% interval of the median ns_per_item, from the median aggregate or
        the summary; None in files written before the harness computed it."""
        for block in (self.median_entry or {}, self.summary):
            lo, hi = block.get("ns_per_item_ci95_low"), block.get("ns_per_item_ci95_high")
            if _finite(lo) and _finite(hi) and 0 < lo <= hi:
                return float(lo), float(hi)
        return None

    def interval_of(self, key: str) -> tuple[float, float] | None:
        """The 95% interval of `key`'s median: the file's own for ns_per_item and items_per_second,
        else the same distribution-free interval computed from the repetitions (None below 6)."""
        return self.interval(key) if key in ("ns_per_item", "items_per_second") else median_ci95(self.values(key))

    def repeat_interval_of(self, key: str) -> tuple[float, float] | None:
        """Where a repeat run's median of `key` falls (95%, for a repeat with as many repetitions):
        the file's own where it wrote one, else computed from the repetitions as the harness does
        (repeat_pi95; None below 9 repetitions)."""
        name = key + "_pi95"
        lo, hi = self.summary.get(name + "_low"), self.summary.get(name + "_high")
        if _finite(lo) and _finite(hi) and 0 < lo <= hi:
            return float(lo), float(hi)
        v = self.values(key)
        return repeat_pi95(v, len(v))

    def interval(self, key: str = "ns_per_item") -> tuple[float, float] | None:
        """The 95% interval of `key`'s median where the file has one, else None. Only ns_per_item
        has its own; items_per_second is its reciprocal (times threads), so its interval is the
        same relative interval turned over."""
        ci, med_ns = self.ci95(), self.median("ns_per_item")
        if ci is None or not med_ns:
            return None
        if key == "ns_per_item":
            return ci
        med = self.median(key)
        if key == "items_per_second" and med:
            return med * med_ns / ci[1], med * med_ns / ci[0]
        return None

    @property
    def half_width(self) -> float | None:
        """Half the 95% interval relative to the median: 0.02 reads as ±2%."""
        hw = self.summary.get("ci_half_width")
        if _finite(hw):
            return float(hw)
        ci, med = self.ci95(), self.median("ns_per_item")
        return (ci[1] - ci[0]) / 2 / med if ci and med else None

    @property
    def precision_missed(self) -> str | None:
        """Why the run stopped before the interval was as narrow as asked, or None when it got
        there (or the file does not say)."""
        if self.summary.get("precision_reached") is not False:
            return None
        return str(self.summary.get("not_reached_why") or "reason not recorded")

    @property
    def drift(self) -> float | None:
        """Worst relative change of the calibrated clock across a repetition, when it was flagged."""
        if self.summary.get("frequency_drift"):
            return float(self.summary.get("worst_frequency_drift") or 0.0)
        return None

    @property
    def oversubscribed(self) -> bool:
        return bool(self.meta.get("oversubscribed"))

    @property
    def scaling(self) -> str:
        return str(self.meta.get("scaling") or self.source.scaling)


@dataclass
class Results:
    sources: list[Source] = field(default_factory=list)
    cells: dict[tuple[str, str, int], Cell] = field(default_factory=dict)
    # An earlier file's cell that a later file's took the place of, by key: the BASE of BASE NEW.
    baselines: dict[tuple[str, str, int], Cell] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Every cell the files hold, when select() left some out of `cells`: references are looked up
    # here, so plain's ratios and atomic's grey line survive `--strategies sticky`.
    all_cells: dict[tuple[str, str, int], Cell] | None = None

    def select(self, strategies) -> "Results":
        """The same results with only `strategies` drawn; reference() still sees every cell."""
        keep = set(strategies)
        return Results(sources=self.sources,
                       cells={k: c for k, c in self.cells.items() if k[1] in keep},
                       baselines={k: c for k, c in self.baselines.items() if k[1] in keep},
                       notes=self.notes, all_cells=self.all_cells or self.cells)

    def reference(self, workload: str, strategy: str, threads: int) -> Cell | None:
        """Like get(), but also finds the cells of strategies select() left out."""
        cell = (self.all_cells or self.cells).get((workload, strategy, threads))
        return cell if cell is not None and cell.reps else None

    def workloads(self) -> list[str]:
        return _in_order_seen(c.workload for c in self.cells.values())

    def strategies(self) -> list[str]:
        return _in_order_seen(c.strategy for c in self.cells.values())

    def threads(self, workload: str | None = None) -> list[int]:
        return sorted({c.threads for c in self.cells.values() if workload in (None, c.workload)})

    def get(self, workload: str, strategy: str, threads: int) -> Cell | None:
        cell = self.cells.get((workload, strategy, threads))
        return cell if cell is not None and cell.reps else None

    def measured(self) -> list[Cell]:
        return [c for c in self.cells.values() if c.reps]

    def errored(self) -> list[Cell]:
        return [c for c in self.cells.values() if c.errors]

    @property
    def scaling(self) -> str:
        """The files' one scaling (scaling_conflict() says when they have two)."""
        return self.sources[0].scaling if self.sources else "weak"


def speedup(one: Cell, many: Cell) -> float | None:
    """How much faster `many` did its work than `one` (normally the same benchmark at 1 thread), by
    the definition of their scaling: weak, T1 × N / TN (CPython's Tools/ftscalingbench: every
    thread does the full work, so N threads did N times as much); strong, T1 / TN (both did the
    same fixed work). Iteration times T come from median ns_per_item, which the harness defines
    per scaling so that T1 / TN is its ratio times N / 1 (weak) or the ratio itself (strong).
    None without both medians, or across two scalings, where no definition holds."""
    t1, tn = one.median("ns_per_item"), many.median("ns_per_item")
    if not t1 or not tn or one.scaling != many.scaling:
        return None
    return t1 / tn * (many.threads / one.threads if many.scaling == "weak" else 1.0)


def scaling_conflict(sources: list[Source]) -> str | None:
    """Why these files cannot be read together, or None: one holds strong-scaling figures and another
    weak ones, so the same benchmark name means different work in each."""
    kinds = {src.scaling for src in sources}
    if len(kinds) <= 1:
        return None
    which = "; ".join(f"{src.label}: {src.scaling}" for src in sources)
    return (f"the files hold different scalings ({which}): a strong-scaling ns_per_item is wall time per item "
            "of a fixed total, a weak one per-thread time per item, so comparing or joining them is "
            "meaningless; give files of one --scaling")


@dataclass
class Ratio:
    """NEW's median ns_per_item over BASE's, with a conservative interval (None without one)."""
    base: Cell
    new: Cell
    median: float
    low: float | None
    high: float | None

    @property
    def changed(self) -> bool:
        """The interval lies wholly above or below 1: the change is larger than both cells' noise."""
        return self.low is not None and (self.low > 1 or self.high < 1)


def ratio(base: Cell, new: Cell) -> Ratio | None:
    """NEW/BASE of median ns_per_item. The interval runs from new_low/base_high to
    new_high/base_low: wider than a proper interval of a ratio, so a change it calls real is."""
    b, n = base.median("ns_per_item"), new.median("ns_per_item")
    if not b or not n:
        return None
    bi, ni = base.ci95(), new.ci95()
    if bi and ni:
        return Ratio(base, new, n / b, ni[0] / bi[1], ni[1] / bi[0])
    return Ratio(base, new, n / b, None, None)


def comparison(res: "Results") -> list[Ratio]:
    """One Ratio per cell both a BASE and a NEW file measured, in the order NEW lists them."""
    out = []
    for key, base in res.baselines.items():
        new = res.cells.get(key)
        if new is not None and base.reps and new.reps:
            r = ratio(base, new)
            if r is not None:
                out.append(r)
    return out


def _log_choose(n: float, k: float) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def median_ci95(values: list[float]) -> tuple[float, float] | None:
    """Distribution-free 95% interval of the median, as the harness computes it
    (harness/engine/stats.h): the order statistics k and n+1-k, with k the largest rank whose
    binomial(n, 1/2) tail stays within 2.5%; None when no rank does (n < 6)."""
    v = sorted(values)
    n = len(v)
    cdf, k = 0.0, 0
    for j in range(n // 2):
        cdf += math.exp(_log_choose(n, j) - n * math.log(2))
        if cdf > 0.025:
            break
        k = j + 1
    return (v[k - 1], v[n - k]) if k else None


def repeat_pi95(values: list[float], m: int) -> tuple[float, float] | None:
    """Distribution-free 95% prediction interval for the median of m more samples, as the harness
    computes it (harness/engine/stats.h, repeat_median_pi95): the order statistics k and n+1-k,
    with k the largest rank at which the repeat's middle order statistics fall outside with
    probability <= 5% when all n+m values are exchangeable; None when no rank does."""
    v = sorted(values)
    n = len(v)
    if not n or m <= 0:
        return None

    def below(r: int, j: int) -> float:  # P(j of the n below the repeat's r-th smallest)
        return math.exp(_log_choose(j + r - 1, j) + _log_choose(n - j + m - r, n - j) - _log_choose(n + m, n))

    r_low, r_high = (m + 1) // 2, m // 2 + 1
    tails, k = 0.0, 0
    for j in range(n // 2):
        tails += below(r_low, j) + below(r_high, n - j)
        if tails > 0.05:
            break
        k = j + 1
    return (v[k - 1], v[n - k]) if k else None


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _in_order_seen(items) -> list:
    return list(dict.fromkeys(items))


def _cell_key(entry: dict) -> tuple[str, str, int] | None:
    rc = entry.get("rcbench")
    if isinstance(rc, dict) and {"workload", "strategy", "threads"} <= rc.keys():
        return (str(rc["workload"]), str(rc["strategy"]), int(rc["threads"]))
    run_name = entry.get("run_name") or entry.get("name") or ""
    m = NAME.match(str(run_name))
    if not m:
        return None
    return (m["workload"], m["strategy"], int(m["threads"]))


def read_json(path: str) -> dict:
    """The parsed file (gzip-compressed when its name ends in .gz, as committed results are), or
    InputError with the reason in words a person can act on."""
    try:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise InputError("no such file") from None
    except IsADirectoryError:
        raise InputError("is a directory, not a results file") from None
    except PermissionError:
        raise InputError("cannot be read (permission denied)") from None
    except UnicodeDecodeError:
        raise InputError("not JSON (not UTF-8 text)") from None
    except json.JSONDecodeError as e:
        raise InputError(f"not JSON ({e.msg} at line {e.lineno}, column {e.colno})") from None
    except (gzip.BadGzipFile, EOFError):
        raise InputError("named .gz but not a whole gzip file") from None
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise InputError("not a results file (no 'benchmarks' list; expected `rcbench run --out` output)")
    return data


def _in_statistics(entry: dict) -> bool:
    """rcbench marks each repetition `rcbench.repetition.in_statistics`; files of other tools have
    no mark, and every repetition counts."""
    rc = entry.get("rcbench")
    rep = rc.get("repetition") if isinstance(rc, dict) else None
    return not (isinstance(rep, dict) and rep.get("in_statistics") is False)


def load_file(path: str) -> tuple[Source, list[Cell]]:
    data = read_json(path)
    context = data.get("context") if isinstance(data.get("context"), dict) else {}
    source = Source(path=path, context=context)
    cells: dict[tuple[str, str, int], Cell] = {}
    medians: dict[tuple[str, str, int], dict] = {}
    for entry in data["benchmarks"]:
        if not isinstance(entry, dict):
            continue
        key = _cell_key(entry)
        if key is None:
            continue
        cell = cells.get(key)
        if cell is None:
            meta = entry.get("rcbench") if isinstance(entry.get("rcbench"), dict) else {}
            cell = cells[key] = Cell(*key, source=source, meta=meta)
        if entry.get("error_occurred"):
            cell.errors.append(str(entry.get("error_message") or "error without a message"))
        elif entry.get("run_type", "iteration") == "iteration":
            # The same samples as the run's own statistics: a repetition it left out (disturbed)
            # is kept in the file for the record but read by no plot, table or check.
            if _in_statistics(entry):
                cell.reps.append(entry)
            else:
                cell.left_out += 1
        elif entry.get("aggregate_name") == "median":
            medians[key] = entry
            cell.median_entry = entry
    # A file written with aggregates only still has each benchmark's median: one sample.
    for key, entry in medians.items():
        if not cells[key].reps:
            cells[key].reps.append(entry)
    if not data["benchmarks"]:
        raise InputError("holds no benchmarks (was the run interrupted before the first finished?)")
    if not cells:
        raise InputError("has no rcbench benchmarks (names like <workload>/<strategy>/threads:<n>)")
    source.benchmarks = len(cells)
    return source, list(cells.values())


def load(paths: list[str], complain) -> Results:
    """Every readable file, in order; `complain(path, reason)` hears about the others."""
    results = Results()
    for path in paths:
        try:
            source, cells = load_file(path)
        except InputError as e:
            complain(path, str(e))
            continue
        results.sources.append(source)
        replaced: dict[str, int] = {}
        for cell in cells:
            old = results.cells.get(cell.key)
            if old is not None:
                replaced[old.source.label] = replaced.get(old.source.label, 0) + 1
                # With three files the first one stays the baseline: BASE NEW NEWER compares
                # the newest with where it all started.
                results.baselines.setdefault(cell.key, old)
            results.cells[cell.key] = cell
        for label, n in replaced.items():
            results.notes.append(f"{source.label} replaces {n} benchmark(s) from {label} in the plots; "
                                 f"comparison.png shows {source.label} ÷ {label} for them")
    units = list(dict.fromkeys(s.strong_units for s in results.sources if s.strong_units))
    if len(units) > 1:
        results.notes.append(f"the strong-scaling files divide different totals of work ({', '.join(map(str, units))} "
                             "units per iteration): a line that joins two of them mixes problem sizes")
    machines = list(dict.fromkeys(s.machine for s in results.sources))
    if len(machines) > 1:
        results.notes.append(f"the files come from {len(machines)} machines ({'; '.join(machines)}): a line or "
                             "ratio that joins benchmarks from two of them compares machines as well as strategies")
    return results
