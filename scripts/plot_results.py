#!/usr/bin/env python3
"""Turns rcbench results files into PNG plots and a one-page report.md.

    scripts/plot results.json [more.json ...] [-o OUT_DIR] [--strategies A,B] [--families F,G]
    scripts/plot BASE.json NEW.json [-o OUT_DIR]

Run it through scripts/plot, which finds a Python that has matplotlib: Debian's python3-matplotlib
lands in /usr/bin/python3, which is often not the python3 on PATH.

Later files add the benchmarks (<workload>/<strategy>/threads:<n>) earlier files lack. A benchmark
that an earlier file has too makes the pair a before/after comparison: the plots and tables show
the later file's figures, and comparison.png draws NEW/BASE of median ns per item for every shared
benchmark with a conservative 95% interval (NEW's low / BASE's high to NEW's high / BASE's low; the
point alone where a file has no intervals). With more than two files the first to have a
benchmark is its BASE. A file that cannot be read is named on stderr with the reason and left out;
the exit status is non-zero only when no file gave anything to plot (1), when --strategies or
--families names something the files or the family table do not have (2), or when the files hold
different scalings (2): `rcbench run --scaling strong` and weak runs time different work under the
same benchmark names.

Every title and report says which scaling the files hold, and speedups follow its definition:
weak, T1 × N / TN (each thread does the full work, as CPython's Tools/ftscalingbench); strong,
T1 / TN (one fixed total divided among the threads).

Strategies are drawn by family (scripts/rcresults.py, FAMILY_OF): one hue each, a column of
throughput panels each, grouped rows in the heatmap and grouped legends. --strategies and
--families choose what is drawn; plain and atomic still serve as references when left out.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import zlib
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # files only: no display on CI machines or over ssh

import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
from matplotlib import colors as mcolors  # noqa: E402
from matplotlib import ticker  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch, Rectangle  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rcresults  # noqa: E402
import report  # noqa: E402
from report import num, times  # noqa: E402

PROG = "plot"
DPI = 130

# ---------------------------------------------------------------------------------------------
# Style: one colour and marker per strategy in every plot, so a reader learns them once. The
# colour comes from the strategy's family (rcresults.FAMILIES): one hue per family, a shade per
# member in the family table's order, so a bar chart or legend of 19 strategies still reads as
# four or five groups. The shades of one family alone could be told apart only with effort, so
# every member also gets its own marker, and the lightest shade is still a visible line on white
# (text uses the family's dark colour instead: pale text is unreadable). plain is black because every other strategy is measured against it;
# grey is kept for the reference lines drawn into other families' panels, so no family uses it.

FAMILY_STYLE = {  # family -> (colour for its name in titles and legends, shades, marker offset)
    # The seeds are eight, too many shades of one hue to tell apart: blues, with gil in purple
    # and frozen in teal (in the 2-core run gil's purple sat too near remote's indigo); remote and
    # remote_padded one indigo, dark and light, as they are one mechanism.
    "seeds": ("#08306b", ["#222222", "#88419d", "#08306b", "#4eb3d3", "#2171b5", "#0e8f8f",
                          "#3f48cc", "#8f9ee0"], 0),
    "cpython": ("#a63603", ["#e6550d", "#fd8d3c", "#8c2d04", "#c2621b"], 8),
    "scalable": ("#006d2c", ["#31a354", "#006d2c", "#78c679", "#4d7f17"], 4),
    "library": ("#7a0177", ["#c51b8a", "#7a0177", "#f768a1", "#a0447e"], 10),
    # Unknown strategies: gold and olive, picked by crc32 of the name, which unlike hash() gives
    # the same colour in every run.
    "other": ("#7a5c00", ["#8c6d31", "#bd9e39", "#637939", "#b8860b", "#8ca252", "#6b5a1e"], 6),
}
MARKERS = ["o", "s", "^", "v", "D", "P", "X", "x", "*", "<", ">", "h", "p", "d"]
REFERENCE_GREY = "#999999"


def strategy_style(name: str) -> tuple[str, str]:
    fam = rcresults.family(name)
    _, shades, offset = FAMILY_STYLE.get(fam, FAMILY_STYLE["other"])
    if fam == "other":
        i = zlib.crc32(name.encode())
        return shades[i % len(shades)], MARKERS[(i // 7) % len(MARKERS)]
    i = rcresults.family_members(name).index(name)
    return shades[i % len(shades)], MARKERS[(i + offset) % len(MARKERS)]


def family_colour(fam: str) -> str:
    return FAMILY_STYLE.get(fam, FAMILY_STYLE["other"])[0]


def family_title(fam: str) -> str:
    return rcresults.FAMILIES.get(fam, fam)


strategy_order = rcresults.strategy_order


def families_of(strategies) -> list[str]:
    return list(dict.fromkeys(rcresults.family(s) for s in strategy_order(strategies)))


def workload_order(res: rcresults.Results) -> list[str]:
    """The order `rcbench run` was asked for (its registry's), then anything else as found."""
    asked = []
    for src in res.sources:
        asked += (src.rcbench.get("options") or {}).get("workloads") or []
    present = set(res.workloads())
    return [w for w in dict.fromkeys(asked + res.workloads()) if w in present]


# Counter meanings shown under each panel title; an unknown counter is shown by name alone.
COUNTER_MEANINGS = {
    "atomic_rmw": "lock-prefixed read-modify-writes",
    "owner_ops": "non-atomic ops by the owner thread",
    "shared_ops": "atomic ops on the shared count",
    "queued": "objects queued to their owner",
    "merged": "local and shared counts merged",
    "log_rotations": "logs handed to the committer",
    "log_entries": "log entries applied",
    "epochs": "epochs closed by the committer",
    "delayed_frees": "frees later than the last decref",
    "peak_pending_frees": "most objects awaiting free",
    "skipped_ops": "ops skipped on frozen objects",
    "frozen_objects": "objects frozen",
    "slot_pages": "pages of remote counts",
    "gil_switches": "GIL drops on request",
    "gil_waits": "GIL acquisitions that waited",
}


# ---------------------------------------------------------------------------------------------


class Skip(Exception):
    """A plot the results cannot support; the message says what is missing."""


@dataclass
class Plot:
    key: str  # the PNG's file stem
    title: str
    file: str | None = None
    sentence: str = ""
    skipped: str | None = None


def save(fig, out_dir: str, stem: str) -> str:
    path = os.path.join(out_dir, stem + ".png")
    # "tight" grows the canvas to hold legends placed outside the axes.
    fig.savefig(path, dpi=DPI, bbox_inches="tight", pad_inches=0.15, facecolor="white")
    plt.close(fig)
    return path


def grid(n: int, ncols_max: int, panel_w: float, panel_h: float):
    ncols = min(ncols_max, n)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_w * ncols, panel_h * nrows), squeeze=False,
                             layout="constrained")
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def category_ticks(ax, labels: list[str], inches_each: float, fontsize=None) -> None:
    """Labels at 0..n-1, slanted when the longest would not fit level in its slot."""
    longest = max(len(line) for label in labels for line in label.split("\n"))
    slanted = longest * 0.085 > inches_each
    ax.set_xticks(range(len(labels)), labels, fontsize=fontsize, rotation=30 if slanted else 0,
                  ha="right" if slanted else "center", rotation_mode="anchor" if slanted else "default")


def family_slots(strategies: list[str]) -> tuple[dict[str, float], float]:
    """Offsets from a category's centre for bars of `strategies` side by side, 0.8 wide in all,
    with half a bar's gap between families so the groups show without reading colours; and the
    width of one bar's slot."""
    families = families_of(strategies)
    gap = 0.5 if len(families) > 1 else 0.0
    slot = 0.8 / (len(strategies) + gap * (len(families) - 1))
    offsets, pos = {}, 0.0
    for i, s in enumerate(strategies):
        if i and rcresults.family(s) != rcresults.family(strategies[i - 1]):
            pos += gap
        offsets[s] = -0.4 + slot * (pos + 0.5)
        pos += 1
    return offsets, slot


def slot_x(group: int, slot: int, slots: int) -> float:
    """Centre of bar `slot` of `slots` side by side in category `group`, 0.8 wide in all."""
    return group - 0.4 + 0.8 / slots * (slot + 0.5)


def yerr(cell: rcresults.Cell, key: str) -> tuple[float, float, float]:
    """Median and its distances to the fastest and slowest repetition, for errorbar()."""
    med = cell.median(key)
    lo, hi = cell.spread(key)
    return med, med - lo, hi - med


def ci_yerr(cell: rcresults.Cell, key: str) -> tuple[float, float, float]:
    """Median and its distances to the ends of its 95% interval where the file has one, else to
    the fastest and slowest repetition (files written before the harness computed intervals)."""
    interval = cell.interval(key)
    if interval is None:
        return yerr(cell, key)
    med = cell.median(key)
    return med, max(0.0, med - interval[0]), max(0.0, interval[1] - med)


def whisker_words(cells) -> str:
    """What the whiskers on a plot of these cells mean, for its title."""
    with_ci = sum(c.ci95() is not None for c in cells)
    if with_ci == len(cells):
        return "whiskers: 95% interval of the median"
    if with_ci == 0:
        return "whiskers: fastest to slowest repetition"
    return "whiskers: 95% interval of the median, or fastest to slowest repetition where the file has none"


PLAIN_NUMBERS = ticker.FuncFormatter(lambda v, _: f"{v:g}")


def choose_yscale(ax, values, span: float, si_labels: bool = True) -> None:
    """Log when the values cover more than `span`×: a linear axis would flatten the small ones.
    Large numbers get SI prefixes (80 M, not 8e7); fractions of a count read better as 0.002
    than as 2 m, so `si_labels=False` keeps plain numbers."""
    positive = [v for v in values if v and v > 0]
    if positive and max(positive) / min(positive) > span:
        ax.set_yscale("log")
        # Over a few decades, 1-2-5 steps keep several labelled ticks; powers of ten alone may
        # leave one.
        if math.log10(max(positive) / min(positive)) < 3:
            ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())
    else:
        ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(ticker.EngFormatter(sep=" ") if si_labels else PLAIN_NUMBERS)


def strategy_handle(s: str, bars: bool = False):
    colour, marker = strategy_style(s)
    return (Patch(color=colour, label=s) if bars
            else Line2D([], [], color=colour, marker=marker, lw=1.8, ms=6, label=s))


def strategy_legend(fig, strategies, extra=(), bars=False) -> None:
    """One legend for all panels: per-panel legends would repeat it and cover data. One family:
    a column right of the panels. Several: a column per family under the panels, headed by the
    family's name, so 19 entries make a short, wide block instead of one too tall for the figure."""
    strategies = strategy_order(strategies)
    families = families_of(strategies)
    if len(families) <= 1:
        fig.legend(handles=[strategy_handle(s, bars) for s in strategies] + list(extra), loc="center left",
                   bbox_to_anchor=(1.0, 0.5), frameon=False, title="strategy", alignment="left")
        return
    blank = Line2D([], [], color="none", label=" ")
    columns = []
    for fam in families:
        members = [s for s in strategies if rcresults.family(s) == fam]
        header = Line2D([], [], color="none", label=family_title(fam))
        columns.append([header] + [strategy_handle(s, bars) for s in members])
    if extra:
        columns.append([Line2D([], [], color="none", label="also")] + list(extra))
    rows = max(len(c) for c in columns)
    handles = [h for c in columns for h in c + [blank] * (rows - len(c))]  # filled column by column
    legend = fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=len(columns),
                        frameon=False, handlelength=2.2, columnspacing=1.8)
    headers = {family_title(f): family_colour(f) for f in families}
    for text in legend.get_texts():
        if text.get_text() in headers or text.get_text() == "also":
            text.set_fontweight("bold")
            text.set_color(headers.get(text.get_text(), "#222222"))


def suptitle(fig, res: rcresults.Results, what: str) -> None:
    hosts = ", ".join(dict.fromkeys(src.host for src in res.sources))
    fig.suptitle(f"{what}  ({hosts})", fontsize=13, fontweight="bold")


# ---------------------------------------------------------------------------------------------
# Throughput vs threads.


# Layout. With one family the workloads wrap three to a row, as before families existed. With
# several, a workload is a row and a family a column: a runtime engineer asks "does this kind of
# counter scale on this kind of program?", so the strategies compared with each other share a
# panel (at most eight lines, where all 19 in one panel were a tangle), and a row shares its
# y axis so the families can be compared by eye across it. Every panel outside the seeds' column
# also draws atomic in grey, the naive thread-safe count every newer strategy exists to beat, and
# every panel draws one dashed ideal: plain's 1-thread throughput times the threads, the most an
# unsynchronised count could reach. On log-log axes perfect scaling is a line parallel to it, so
# a strategy's slope against it is its scaling and its height below it is its overhead; one ideal
# per strategy (the old layout) doubled the lines and told nothing the slope does not.


def throughput_panel(ax, res: rcresults.Results, w: str, fam: str, threads: list[int], state: dict) -> list[float]:
    """Draws family `fam` on workload `w` into `ax`; returns the y extents it used."""
    values = []
    members = [s for s in strategy_order(c.strategy for c in res.measured() if c.workload == w)
               if rcresults.family(s) == fam]
    lines = [(s, False) for s in members]
    if "atomic" not in members:
        lines.insert(0, ("atomic", True))
    for s, reference in lines:
        get = res.reference if reference else res.get
        cells = [c for c in (get(w, s, t) for t in threads) if c and c.median("items_per_second")]
        if not cells:
            continue
        colour, marker = (REFERENCE_GREY, strategy_style(s)[1]) if reference else strategy_style(s)
        xs = [c.threads for c in cells]
        meds, below, above = zip(*(ci_yerr(c, "items_per_second") for c in cells))
        ax.errorbar(xs, meds, yerr=[below, above], color=colour, marker=marker, ms=4 if reference else 6,
                    lw=1.2 if reference else 1.8, capsize=0 if reference else 3, zorder=2 if reference else 3)
        values += [m + a for m, a in zip(meds, above)] + [m - b for m, b in zip(meds, below)]
        if reference:
            state["reference_in"].add(fam)
            continue
        state["shown"].add(s)
        state["cells"] += cells
        for c, m in zip(cells, meds):
            if c.oversubscribed:
                state["oversubscribed"] = True
                ax.plot(c.threads, m, marker=marker, ms=6, color=colour, mfc="white", zorder=4)
        one = res.get(w, s, 1)
        gain = rcresults.speedup(one, cells[-1]) if one and cells[-1].threads > 1 else None
        if gain is not None:
            state["speedups"].append((gain, s, w, cells[-1].threads))
    plain1 = res.reference(w, "plain", 1)
    if plain1 and plain1.median("items_per_second") and len(threads) > 1:
        ideal = [plain1.median("items_per_second") * t for t in threads]
        ax.plot(threads, ideal, ls="--", lw=1.0, color=REFERENCE_GREY, zorder=1)
        state["ideal_drawn"] = True
        values += ideal
    if not values:
        ax.text(0.5, 0.5, "not run", transform=ax.transAxes, ha="center", va="center", color="#777777")
    return values


def plot_throughput(res: rcresults.Results, out_dir: str, plot: Plot) -> None:
    workloads = [w for w in workload_order(res)
                 if any(c.median("items_per_second") for c in res.measured() if c.workload == w)]
    if not workloads:
        raise Skip("no items_per_second figures in the results")
    families = families_of(c.strategy for c in res.measured() if c.workload in workloads)
    if len(families) == 1:
        fig, axes = grid(len(workloads), 3, 5.0, 3.8)
        rows = [[(ax, w, families[0])] for ax, w in zip(axes, workloads)]
    else:
        fig, axes2d = plt.subplots(len(workloads), len(families), squeeze=False, sharey="row",
                                   figsize=(3.6 * len(families) + 0.8, 2.9 * len(workloads)), layout="constrained")
        rows = [[(axes2d[i][j], w, f) for j, f in enumerate(families)] for i, w in enumerate(workloads)]
    state = {"shown": set(), "cells": [], "speedups": [], "oversubscribed": False, "reference_in": set(),
             "ideal_drawn": False}
    for row in rows:
        extents = []
        for ax, w, fam in row:
            threads = res.threads(w)
            extents += throughput_panel(ax, res, w, fam, threads, state)
            ax.set_xscale("log", base=2)
            ax.set_xticks(threads, [str(t) for t in threads])
            ax.xaxis.set_minor_locator(ticker.NullLocator())
            ax.set_xlim(min(threads) / 1.3, max(threads) * 1.3)
            ax.set_title(w, fontsize=10 if len(families) > 1 else 11)
            ax.set_xlabel("threads", fontsize=9 if len(families) > 1 else None)
            ax.grid(True, which="major", alpha=0.3)
        # Log-log whenever the values span any range: perfect scaling is then a straight line at
        # the same slope for every strategy, and the gap to it reads as a ratio whatever the machine.
        for ax, _, _ in row:
            choose_yscale(ax, extents, 1.0)
        row[0][0].set_ylabel("items/s, all threads together")
    reference = Line2D([], [], color=REFERENCE_GREY, marker=strategy_style("atomic")[1], ms=4, lw=1.2,
                       label="atomic, for reference")
    extra = []
    if state["ideal_drawn"]:
        extra.append(Line2D([], [], color=REFERENCE_GREY, ls="--", lw=1.0, label="ideal: plain at 1 thread × threads"))
    if state["oversubscribed"]:
        extra.append(Line2D([], [], color="grey", marker="o", mfc="white", ls="", label="more threads than CPUs"))
    if len(families) == 1:
        strategy_legend(fig, state["shown"], ([reference] if state["reference_in"] else []) + extra)
    else:
        # A legend over each family's column, since its members are the same in every row; four
        # entries a column keeps them one height, so the panels below line up.
        for j, fam in enumerate(families):
            handles = [strategy_handle(s) for s in strategy_order(state["shown"]) if rcresults.family(s) == fam]
            if fam in state["reference_in"]:
                handles.append(reference)
            handles += [Line2D([], [], color="none", label=" ")] * (-len(handles) % 4)
            legend = rows[0][j][0].legend(
                handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.12), frameon=False,
                title=family_title(fam), ncol=math.ceil(len(handles) / 4), fontsize=8, columnspacing=1.0,
                handlelength=2.0, title_fontproperties={"weight": "bold"})
            legend.get_title().set_color(family_colour(fam))
        if extra:
            fig.legend(handles=extra, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=len(extra), frameon=False)
    suptitle(fig, res, f"Throughput vs threads, {res.scaling} scaling (median; {whisker_words(state['cells'])})")
    plot.file = save(fig, out_dir, plot.key)
    plot.sentence = (f"{report.scaling_sentence(res)} Items processed per second by all threads together at each "
                     "thread count, one line per strategy" +
                     (", one column per family with atomic in grey for reference" if len(families) > 1 else "") +
                     "; the dashed grey line is perfect linear scaling of plain's 1-thread figure, so a line "
                     "parallel to it scales perfectly and its distance below it is the strategy's cost.")
    speedups = state["speedups"]
    if speedups:
        best, worst = max(speedups), min(speedups)
        plot.sentence += (f" Best speedup ({rcresults.SPEEDUP_FORMULA[res.scaling]}): {best[1]} on {best[2]}, "
                          f"{best[0]:.2f}× at {best[3]} threads; worst: {worst[1]} on {worst[2]}, {worst[0]:.2f}× "
                          f"at {worst[3]}.")


# ---------------------------------------------------------------------------------------------
# Overhead vs plain at one thread: the bar chart and the heatmap share one table of ratios.


@dataclass
class Ratio:
    median: float
    low: float  # the strategy's low end over plain's high end: 95% intervals, else repetitions
    high: float
    interval: bool = False  # True when both ends come from 95% intervals


def low_high(cell: rcresults.Cell) -> tuple[tuple[float, float], bool]:
    ci = cell.ci95()
    return (ci, True) if ci else (cell.spread("ns_per_item"), False)


def overhead_ratios(res: rcresults.Results):
    """{(workload, strategy): Ratio} of ns_per_item at 1 thread, plus workloads without plain."""
    ratios, no_plain = {}, []
    for w in workload_order(res):
        plain = res.reference(w, "plain", 1)  # the denominator even when --strategies leaves plain out
        if not plain or not plain.median("ns_per_item"):
            no_plain.append(w)
            continue
        (p_lo, p_hi), p_ci = low_high(plain)
        for s in strategy_order(c.strategy for c in res.measured() if c.workload == w):
            cell = res.get(w, s, 1)
            if s == "plain" or not cell or not cell.median("ns_per_item"):
                continue
            (lo, hi), ci = low_high(cell)
            # Conservative: the interval of a ratio is narrower than the ratio of the ends.
            ratios[(w, s)] = Ratio(cell.median("ns_per_item") / plain.median("ns_per_item"), lo / p_hi, hi / p_lo,
                                   ci and p_ci)
    if not ratios:
        if no_plain and len(no_plain) == len(workload_order(res)):
            raise Skip("no plain results at 1 thread, and the overhead is measured against plain")
        raise Skip("no strategy other than plain ran at 1 thread")
    return ratios, no_plain


def ratio_ticks(lo: float, hi: float) -> list[float]:
    """Ticks a reader can say aloud: 1.25× steps near 1, doublings (or quadruplings...) across a
    wide range, always including 1×."""
    if hi / lo <= 2:
        return [t for t in (0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.1, 1.2, 1.3, 1.4, 1.6, 1.8, 2) if lo <= t <= hi]
    if hi / lo <= 6:
        return [t for t in (0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 3, 4, 6) if lo <= t <= hi]
    exponents = range(math.ceil(math.log2(lo)), math.floor(math.log2(hi)) + 1)
    step = math.ceil(len(exponents) / 8)
    return [2.0 ** e for e in exponents if e % step == 0]


def no_plain_note(no_plain: list[str]) -> str:
    return f"no plain at 1 thread, so no ratio for: {', '.join(no_plain)}" if no_plain else ""


def plot_overhead(res: rcresults.Results, out_dir: str, plot: Plot) -> None:
    ratios, no_plain = overhead_ratios(res)
    workloads = list(dict.fromkeys(w for w, _ in ratios))
    strategies = strategy_order(s for _, s in ratios)
    offsets, width = family_slots(strategies)
    fig_w = min(14.0, max(6.0, 1.5 + len(workloads) * (0.3 + 0.14 * len(strategies))))
    fig, ax = plt.subplots(figsize=(fig_w, 4.6), layout="constrained")
    for s in strategies:
        colour, _ = strategy_style(s)
        xs, r = [], []
        for j, w in enumerate(workloads):
            if (w, s) in ratios:
                xs.append(j + offsets[s])
                r.append(ratios[(w, s)])
        # Bars grow from 1.0, so a strategy faster than plain points down.
        ax.bar(xs, [x.median - 1 for x in r], bottom=1, width=width * 0.92, color=colour, label=s, zorder=3,
               yerr=[[x.median - x.low for x in r], [x.high - x.median for x in r]],
               error_kw={"elinewidth": 1, "capsize": 2, "ecolor": "#444"})
    ax.axhline(1.0, color=strategy_style("plain")[0], lw=1.2, zorder=4, label="plain = 1×")
    lows = [x.low for x in ratios.values()] + [1.0]
    highs = [x.high for x in ratios.values()] + [1.0]
    lo, hi = min(lows) / 1.15, max(highs) * 1.15
    ax.set_yscale("log", base=2)
    ax.set_ylim(lo, hi)
    ax.set_yticks(ratio_ticks(lo, hi))
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}×"))
    ax.yaxis.set_minor_locator(ticker.NullLocator())
    category_ticks(ax, workloads, (fig_w - 2.5) / len(workloads))
    ax.set_xlim(-0.6, len(workloads) - 0.4)
    ax.set_ylabel("ns per item ÷ plain's (log scale)")
    ax.set_xlabel("workload")
    ax.grid(True, axis="y", alpha=0.3, zorder=0)
    if no_plain:
        fig.text(0.01, -0.02, no_plain_note(no_plain), fontsize=9, color="#a00", ha="left", va="top")
    n_ci = sum(r.interval for r in ratios.values())
    whiskers = ("whiskers: from the 95% intervals of both" if n_ci == len(ratios) else
                "whiskers: fastest to slowest repetitions of both" if n_ci == 0 else
                "whiskers: from the 95% intervals of both, or their repetitions' range where a file has none")
    ax.set_title(f"Per-item time relative to plain at 1 thread\n(median; {whiskers})", fontsize=11)
    strategy_legend(fig, strategies, [Line2D([], [], color=strategy_style("plain")[0], lw=1.2, label="plain = 1×")],
                    bars=True)
    plot.file = save(fig, out_dir, plot.key)
    worst = max(ratios.items(), key=lambda kv: kv[1].median)
    best = min(ratios.items(), key=lambda kv: kv[1].median)
    plot.sentence = ("What each strategy costs over unsynchronised counting on one thread: its ns per item divided "
                     "by plain's, per workload. ")
    if len(ratios) == 1:
        plot.sentence += f"{worst[0][1]} on {worst[0][0]}: {times(worst[1].median)}."
    else:
        plot.sentence += (f"Costliest: {worst[0][1]} on {worst[0][0]} at {times(worst[1].median)}; cheapest: "
                          f"{best[0][1]} on {best[0][0]} at {times(best[1].median)}.")
    if no_plain:
        plot.sentence += f" {sentence_case(no_plain_note(no_plain))}."


def plot_heatmap(res: rcresults.Results, out_dir: str, plot: Plot) -> None:
    ratios, no_plain = overhead_ratios(res)
    at_one = [c for c in res.measured() if c.threads == 1]
    workloads = [w for w in workload_order(res) if any(c.workload == w for c in at_one)]
    # Every strategy that ran at 1 thread gets a row, so a missing baseline shows as n/a, not as
    # a strategy that silently vanished.
    strategies = strategy_order(c.strategy for c in at_one if c.strategy != "plain")
    fig, ax = plt.subplots(figsize=(2.6 + 1.25 * len(workloads), max(3.2, 1.5 + 0.5 * len(strategies))),
                           layout="constrained")
    logs = [math.log2(r.median) for r in ratios.values()]
    limit = max(1.0, max(abs(v) for v in logs))  # at least 0.5× to 2×, so noise stays pale
    cmap = plt.get_cmap("RdBu_r")
    norm = mcolors.Normalize(-limit, limit)
    for i, s in enumerate(strategies):
        for j, w in enumerate(workloads):
            r = ratios.get((w, s))
            if r is None:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="#eeeeee", edgecolor="#bbbbbb",
                                       hatch="///", lw=0))
                ax.text(j, i, "n/a", ha="center", va="center", fontsize=9, color="#777777")
                continue
            rgba = cmap(norm(math.log2(r.median)))
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor=rgba, lw=0))
            luminance = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2]
            ax.text(j, i, times(r.median), ha="center", va="center", fontsize=10,
                    color="black" if luminance > 0.5 else "white")
    ax.set_xlim(-0.5, len(workloads) - 0.5)
    ax.set_ylim(len(strategies) - 0.5, -0.5)
    labels = [w + ("\n(no plain)" if w in no_plain else "") for w in workloads]
    category_ticks(ax, labels, 1.25)
    ax.set_yticks(range(len(strategies)), strategies)
    for label, s in zip(ax.get_yticklabels(), strategies):
        label.set_color(family_colour(rcresults.family(s)))  # a family's pale shades are hard to read as text
    # Rows come family by family (strategy_order); a white rule between families and the family's
    # name right of its rows, so a reader compares within a family first.
    families = families_of(strategies)
    if len(families) > 1:
        for fam in families:
            rows = [i for i, s in enumerate(strategies) if rcresults.family(s) == fam]
            if rows[0] > 0:
                ax.axhline(rows[0] - 0.5, color="white", lw=4, zorder=5)
            ax.text(len(workloads) - 0.4, (rows[0] + rows[-1]) / 2, family_title(fam).replace(" ", "\n"),
                    ha="left", va="center", fontsize=9, fontweight="bold", color=family_colour(fam))
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xlabel("workload")
    ax.set_ylabel("strategy")
    mappable = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    bar = fig.colorbar(mappable, ax=ax, fraction=0.05, pad=0.03 if len(families) <= 1 else 1.0 / (1.25 * len(workloads)))
    ticks = [t for t in range(-math.floor(limit), math.floor(limit) + 1)]
    bar.set_ticks(ticks, labels=[f"{2.0 ** t:g}×" for t in ticks])
    bar.set_label("ns/item ÷ plain's (log scale)")
    ax.set_title("Cost relative to plain at 1 thread (median)", fontsize=11)
    plot.file = save(fig, out_dir, plot.key)
    plot.sentence = ("The same ratios as a strategy × workload grid: red is slower than plain, blue faster, "
                     "white about equal; hatched n/a cells ran no 1-thread benchmark (or had no plain to compare with).")


# ---------------------------------------------------------------------------------------------
# Copy-on-write damage (fork_cow) and strategy counters: figures the workload or strategy
# reports itself, found by name, so new ones appear without a change here.


def figure_scale(counter: str, largest: float) -> tuple[float, str]:
    """Divisor and axis label from a figure's name: cow_kib_per_child -> 'KiB per child', or
    'MiB per child' (divide by 1024) once values pass 4 MiB, so ticks read 15.6, not 16 k."""
    words = counter.split("_")
    if words[0] == "cow" and len(words) > 1:
        words = words[1:]
    units = {"kib": "KiB", "mib": "MiB", "gib": "GiB"}
    bigger = {"kib": "mib", "mib": "gib"}
    divisor = 1.0
    if words[0] in bigger and largest >= 4096:
        words, divisor = [bigger[words[0]]] + words[1:], 1024.0
    return divisor, " ".join(units.get(x, x) for x in words)


def sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


def lowest_threads(res: rcresults.Results, w: str, s: str, key: str) -> rcresults.Cell | None:
    for t in res.threads(w):
        cell = res.get(w, s, t)
        if cell and cell.values(key):
            return cell
    return None


def plot_cow(res: rcresults.Results, out_dir: str, plot: Plot) -> None:
    panels = list(dict.fromkeys(
        (c.workload, k) for c in res.measured() for k in sorted(c.numeric_keys())
        if rcresults.is_cow_figure(k)))
    if not panels:
        raise Skip("no copy-on-write figures (cow_* or *_dirtied_* counters, from the fork_cow workload) "
                   "in the results")
    n = len(res.strategies())
    panel_w = max(4.5, 0.6 * n + 1.5)
    fig, axes = grid(len(panels), 2 if n <= 6 else 1, panel_w, 3.8)
    summary = []
    for ax, (w, key) in zip(axes, panels):
        cells = [c for c in (lowest_threads(res, w, s, key) for s in strategy_order(res.strategies())) if c]
        divisor, label = figure_scale(key, max(c.median(key) for c in cells))
        meds, below, above = (
            [v / divisor for v in column] for column in zip(*(yerr(c, key) for c in cells)))
        xs = range(len(cells))
        ax.bar(xs, meds, yerr=[below, above], color=[strategy_style(c.strategy)[0] for c in cells], width=0.7,
               capsize=3, zorder=3, error_kw={"elinewidth": 1})
        for x, m in zip(xs, meds):
            ax.annotate(num(m), (x, m), xytext=(0, 3), textcoords="offset points", ha="center",
                        va="bottom", fontsize=8)
        category_ticks(ax, [c.strategy + ("" if c.threads == 1 else f"\n{c.threads} threads") for c in cells],
                       (panel_w - 1.0) / len(cells))
        ax.set_ylim(0, max(m + a for m, a in zip(meds, above)) * 1.18 or 1)
        # figure_scale keeps values below a few thousand, where 1200 reads better than 1.2 k.
        ax.yaxis.set_major_formatter(PLAIN_NUMBERS)
        ax.set_ylabel(label)
        ax.set_xlabel("strategy")
        ax.set_title(f"{w}: {key}", fontsize=11)
        ax.grid(True, axis="y", alpha=0.3, zorder=0)
        if len(cells) > 1 and (key.endswith("per_child") or len(panels) == 1):
            (lo, lo_s), (hi, hi_s) = min(zip(meds, (c.strategy for c in cells))), max(
                zip(meds, (c.strategy for c in cells)))
            summary.append(f"on {w}, {hi_s} dirties the most ({num(hi)} {label}) and {lo_s} the least "
                           f"({num(lo)} {label})")
    suptitle(fig, res, "Copy-on-write: memory a forked child copies by only reading (median)")
    plot.file = save(fig, out_dir, plot.key)
    plot.sentence = ("Memory each forked child copied on write although it only read the parent's objects: "
                     "refcount writes dirty the pages the counts live on.")
    if summary:
        plot.sentence += " " + sentence_case("; ".join(summary)) + "."


def strategy_counters(cell: rcresults.Cell) -> set[str]:
    return {k for k in cell.numeric_keys() if rcresults.is_strategy_counter(k, cell.source)}


def per_items(largest: float) -> tuple[float, str]:
    """Rare events read better as 12 per million items than as 1.2e-05 per item."""
    for scale, unit in ((1.0, "per item"), (1e3, "per 1,000 items"), (1e6, "per million items")):
        if largest * scale >= 0.1:
            return scale, unit
    return 1e9, "per billion items"


def plot_counters(res: rcresults.Results, out_dir: str, plot: Plot) -> None:
    # One panel per counter; in it, a group per workload and a bar per strategy at 1 thread (solid)
    # and at the workload's most threads (hatched), so the change with contention shows.
    panels: dict[str, list[tuple[str, str, int, rcresults.Cell]]] = {}
    most = {w: max(res.threads(w)) for w in res.workloads()}
    for c in res.measured():
        if c.threads not in (1, most[c.workload]):
            continue
        for k in strategy_counters(c):
            if c.median(k):
                panels.setdefault(k, []).append((c.workload, c.strategy, c.threads, c))
    if not panels:
        raise Skip("no non-zero strategy counters in the results (plain reports none)")
    names = sorted(panels, key=lambda k: (rcresults.is_peak(k), list(COUNTER_MEANINGS).index(k)
                                          if k in COUNTER_MEANINGS else len(COUNTER_MEANINGS), k))
    order = workload_order(res)
    panel_w = 4.6
    fig, axes = grid(len(names), 3, panel_w, 3.3)
    shown = set()
    for ax, k in zip(axes, names):
        bars = panels[k]
        workloads = [w for w in order if any(b[0] == w for b in bars)]
        slots = sorted({(b[1], b[2] > 1) for b in bars},
                       key=lambda st: (strategy_order(res.strategies()).index(st[0]), st[1]))
        drawn = []
        for w_i, w in enumerate(workloads):
            for s_i, (s, many) in enumerate(slots):
                cell = next((b[3] for b in bars if b[0] == w and b[1] == s and (b[2] > 1) == many), None)
                if cell is not None:
                    drawn.append((slot_x(w_i, s_i, len(slots)), s, many, yerr(cell, k)))
        shown.update(d[1] for d in drawn)
        peak = rcresults.is_peak(k)
        scale, unit = (1.0, "peak (raw count)") if peak else per_items(max(med for *_, (med, _, _) in drawn))
        for x, s, many, (med, below, above) in drawn:
            colour = strategy_style(s)[0]
            ax.bar(x, med * scale, width=0.8 / len(slots) * 0.9, zorder=3,
                   color=mcolors.to_rgba(colour, 0.45 if many else 1.0), edgecolor=colour,
                   hatch="///" if many else None, lw=0.8,
                   yerr=[[below * scale], [above * scale]], error_kw={"elinewidth": 0.8, "capsize": 2})
        extents = [(med + off) * scale for *_, (med, below, above) in drawn for off in (-below, above)]
        choose_yscale(ax, extents, 100, si_labels=peak)
        category_ticks(ax, workloads, (panel_w - 0.8) / len(workloads), fontsize=9)
        ax.set_ylabel(unit)
        meaning = COUNTER_MEANINGS.get(k)
        ax.set_title(k + (f"\n{meaning}" if meaning else ""), fontsize=10)
        ax.grid(True, axis="y", alpha=0.3, zorder=0)
    threads_note = sorted(set(most.values()))
    many_label = (f"hatched: {threads_note[0]} threads" if len(threads_note) == 1
                  else "hatched: each workload's most threads")
    extra = [Patch(facecolor="#888", label="solid: 1 thread"),
             Patch(facecolor=mcolors.to_rgba("#888", 0.45), edgecolor="#888", hatch="///", label=many_label)]
    if max(most.values()) == 1:
        extra = extra[:1]
    strategy_legend(fig, strategy_order(shown), extra, bars=True)
    suptitle(fig, res, "Strategy counters (median): per item processed, or raw peaks")
    plot.file = save(fig, out_dir, plot.key)
    plot.sentence = ("What each strategy did, to explain its time: summed counters divided by the items "
                     "processed by all threads, and peaks as raw counts, solid at 1 thread and hatched at the "
                     "most threads; counters that stayed zero are left out.")


# ---------------------------------------------------------------------------------------------
# Before/after: BASE NEW sharing benchmarks.


def comparison_order(res: rcresults.Results, pairs: list[rcresults.Ratio]) -> list[rcresults.Ratio]:
    rank_w = {w: i for i, w in enumerate(workload_order(res))}
    rank_s = {s: i for i, s in enumerate(strategy_order(res.strategies()))}
    return sorted(pairs, key=lambda r: (rank_w.get(r.new.workload, len(rank_w)), r.new.workload,
                                        rank_s.get(r.new.strategy, len(rank_s)), r.new.threads))


def plot_comparison(res: rcresults.Results, out_dir: str, plot: Plot) -> None:
    pairs = comparison_order(res, rcresults.comparison(res))
    if not pairs:
        raise Skip("one file, or files with no benchmark in common: nothing to compare")
    n = len(pairs)
    fig, ax = plt.subplots(figsize=(8.0, 1.6 + 0.24 * n), layout="constrained")
    # Within 5% reads as "the same" in the report and in repro-check; shade it so a reader sees
    # which points matter without reading the axis.
    ax.axvspan(0.95, 1.05, color="#dddddd", zorder=0, lw=0)
    ax.axvline(1.0, color="#222222", lw=1.0, zorder=1)
    extent = [1.0]
    for y, r in enumerate(pairs):
        colour, marker = strategy_style(r.new.strategy)
        if r.low is not None:
            ax.errorbar(r.median, y, xerr=[[r.median - r.low], [r.high - r.median]], color=colour, marker=marker,
                        ms=6, lw=1.4, capsize=3, zorder=3)
            extent += [r.low, r.high]
        else:
            ax.plot(r.median, y, marker=marker, ms=6, color=colour, mfc="white", ls="", zorder=3)
            extent.append(r.median)
    # A rule between workloads; the label on each row says the rest.
    for y in range(1, n):
        if pairs[y].new.workload != pairs[y - 1].new.workload:
            ax.axhline(y - 0.5, color="#999999", lw=0.6, zorder=1)
    lo, hi = min(extent) / 1.08, max(extent) * 1.08
    ax.set_xscale("log", base=2)
    ax.set_xlim(lo, hi)
    ax.set_xticks(ratio_ticks(lo, hi))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}×"))
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    ax.set_yticks(range(n), [f"{r.new.workload} / {r.new.strategy} / {r.new.threads} thr" for r in pairs],
                  fontsize=8 if n > 30 else 9)
    for label, r in zip(ax.get_yticklabels(), pairs):
        label.set_color(family_colour(rcresults.family(r.new.strategy)))  # pale shades are hard to read as text
    ax.set_ylim(n - 0.5, -0.5)
    ax.grid(True, axis="x", alpha=0.3, zorder=0)
    bases = ", ".join(dict.fromkeys(r.base.source.label for r in pairs))
    news = ", ".join(dict.fromkeys(r.new.source.label for r in pairs))
    ax.set_xlabel(f"ns per item: {news} ÷ {bases} (log scale; left of 1× is faster)")
    with_ci = sum(r.low is not None for r in pairs)
    whiskers = ("whiskers: conservative 95% interval" if with_ci == n else
                "open markers: no interval in a file" if with_ci == 0 else
                "whiskers: conservative 95% interval; open markers: none in a file")
    ax.set_title(f"Before/after, per benchmark (median ratio; {whiskers}; grey: within 5%)", fontsize=11)
    plot.file = save(fig, out_dir, plot.key)
    changed = [r for r in pairs if r.changed]
    slower = [r for r in changed if r.low > 1]
    faster = [r for r in changed if r.high < 1]
    plot.sentence = (f"Each benchmark both files measured, as {news}'s median ns per item over {bases}'s: "
                     "below 1× the new run is faster. The whisker runs from the new low end over the old high "
                     "end to the new high end over the old low end, so a whisker clear of 1× is a change "
                     "larger than both runs' noise. ")
    if with_ci:
        plot.sentence += (f"{len(slower)} of {with_ci} benchmark(s) with intervals got slower and {len(faster)} "
                          "faster beyond them")
        worst = max(changed, key=lambda r: abs(math.log(r.median)), default=None)
        plot.sentence += (f"; the largest such change: {worst.new.name} at {times(worst.median)}." if worst else ".")
    else:
        within = sum(abs(r.median - 1) <= 0.05 for r in pairs)
        plot.sentence += f"No file has intervals; {within} of {n} benchmark(s) are within 5%."


# (file stem, report heading, maker); the report keeps this order.
PLOTS = [
    ("throughput", "Throughput vs threads", plot_throughput),
    ("overhead", "Overhead vs plain at 1 thread", plot_overhead),
    ("overhead_heatmap", "Overhead heatmap", plot_heatmap),
    ("cow", "Copy-on-write memory per forked child", plot_cow),
    ("counters", "Strategy counters", plot_counters),
    ("comparison", "Before/after comparison", plot_comparison),
]


def default_out_dir(first_input: str) -> str:
    stem = os.path.splitext(os.path.basename(first_input))[0]
    return os.path.join(os.path.dirname(os.path.abspath(first_input)), stem + "_report")


class UsageError(Exception):
    """A --strategies or --families the files cannot satisfy; the message names the valid choices."""


def names(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def chosen_strategies(res: rcresults.Results, strategies: str | None, families: str | None) -> list[str]:
    """The strategies both options allow, in family order. A name the files do not have is an error
    rather than nothing drawn: a typo would otherwise pass for a strategy that did not run."""
    present = strategy_order(res.strategies())
    chosen = present
    if strategies is not None:
        asked = names(strategies)
        unknown = [s for s in asked if s not in present]
        if unknown or not asked:
            raise UsageError(f"--strategies: {', '.join(unknown) or 'no names given'}: not in the results, "
                             f"which have: {', '.join(present)}")
        chosen = [s for s in chosen if s in asked]
    if families is not None:
        asked = names(families)
        unknown = [f for f in asked if f not in rcresults.FAMILIES]
        if unknown or not asked:
            raise UsageError(f"--families: {', '.join(unknown) or 'no names given'}: not a family; the families "
                             f"are: {', '.join(rcresults.FAMILIES)}")
        chosen = [s for s in chosen if rcresults.family(s) in asked]
    if not chosen:
        raise UsageError(f"no strategy in the results is both in --strategies and in --families; they have: "
                         + ", ".join(f"{s} ({rcresults.family(s)})" for s in present))
    return chosen


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n", 1)[1].rstrip(),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+",
                    help="rcbench results JSON files; a later one adds benchmarks, and one that shares benchmarks "
                         "with an earlier one is compared with it (BASE NEW)")
    ap.add_argument("-o", "--out-dir", help="where the PNGs and report.md go (default: <first input>_report/ "
                                            "next to the first input)")
    ap.add_argument("--strategies", metavar="A,B,...",
                    help="draw only these strategies (plain and atomic are still used as references: the "
                         "ratios' denominator and the grey line)")
    ap.add_argument("--families", metavar="F,G,...",
                    help=f"draw only strategies of these families: {', '.join(rcresults.FAMILIES)} "
                         "(scripts/rcresults.py, FAMILY_OF, says which strategy is in which)")
    args = ap.parse_args(argv)

    problems = []

    def complain(path, reason):
        problems.append((path, reason))
        print(f"{PROG}: skipping {path}: {reason}", file=sys.stderr)

    res = rcresults.load(args.results, complain)
    if (conflict := rcresults.scaling_conflict(res.sources)) is not None:
        print(f"{PROG}: {conflict}", file=sys.stderr)
        return 2
    if not res.measured():
        if res.sources:
            print(f"{PROG}: nothing to plot: no benchmark in {', '.join(s.path for s in res.sources)} "
                  "finished without an error", file=sys.stderr)
        else:
            print(f"{PROG}: nothing to plot: no file given could be read as rcbench results", file=sys.stderr)
        return 1
    if args.strategies is not None or args.families is not None:
        try:
            chosen = chosen_strategies(res, args.strategies, args.families)
        except UsageError as e:
            print(f"{PROG}: {e}", file=sys.stderr)
            return 2
        left_out = [s for s in strategy_order(res.strategies()) if s not in chosen]
        res = res.select(chosen)
        if left_out:
            res.notes.append(f"drawn: {', '.join(chosen)} (--strategies/--families); left out: {', '.join(left_out)}")
    out_dir = args.out_dir or default_out_dir(args.results[0])
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as e:
        print(f"{PROG}: cannot create {out_dir}: {e.strerror}", file=sys.stderr)
        return 1

    plots = []
    for key, title, make in PLOTS:
        plot = Plot(key, title)
        try:
            make(res, out_dir, plot)
        except Skip as e:
            plot.skipped = str(e)
        plots.append(plot)
    path = report.write(res, plots, problems, out_dir, workload_order(res), strategy_order(res.strategies()))
    for p in plots:
        print(f"wrote {p.file}" if p.file else f"no {p.key}.png: {p.skipped}")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
