#!/usr/bin/env python3
"""Turns rcbench results files into PNG plots, report.md and a self-contained report.html.

    scripts/plot results.json [more.json ...] [-o OUT_DIR] [--strategies A,B] [--families F,G]
    scripts/plot BASE.json NEW.json [-o OUT_DIR]

Run it through scripts/plot, which finds a Python that has matplotlib: Debian's python3-matplotlib
lands in /usr/bin/python3, which is often not the python3 on PATH.

The report opens with an overview a reader takes in at once: overhead_heatmap.png (cost over plain
at 1 thread, strategy × workload), scaling_heatmap.png (speedup at the most threads), and a table
per workload ranking the strategies. A section per strategy family follows (scripts/rcresults.py,
FAMILY_OF): throughput-FAMILY.png (throughput vs threads, paged into throughput-FAMILY-2.png ... when
the workloads would not fit one screen), overhead-FAMILY.png and counters-FAMILY.png; then cow.png.
Every image is at most 1600 × 2000 pixels and names the machine, the suite and the date.

Later files add the benchmarks (<workload>/<strategy>/threads:<n>) earlier files lack. A benchmark
that an earlier file has too makes the pair a before/after comparison: the plots and tables show
the later file's figures, and comparison.png (comparison-2.png ... for many benchmarks) draws
NEW/BASE of median ns per item for every shared benchmark with a conservative 95% interval (NEW's
low / BASE's high to NEW's high / BASE's low; the point alone where a file has no intervals). With
more than two files the first to have a benchmark is its BASE. A file that cannot be read is named
on stderr with the reason and left out; the exit status is non-zero only when no file gave anything
to plot (1), when --strategies or --families names something the files or the family table do not
have (2), or when the files hold different scalings (2): `rcbench run --scaling strong` and weak runs
time different work under the same benchmark names.

Every title and report says which scaling the files hold, and speedups follow its definition:
weak, T1 × N / TN (each thread does the full work, as CPython's Tools/ftscalingbench); strong,
T1 / TN (one fixed total divided among the threads).

--strategies and --families choose what is drawn; plain and atomic still serve as references when
left out.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import struct
import sys
import textwrap
import zlib
from dataclasses import dataclass, field

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
# Every image fits a screen at DPI: a figure is split into pages before it grows past this.
MAX_WIDTH_PX, MAX_HEIGHT_PX = 1600, 2000
# A ratio whose 95% interval reaches further than this from its median is marked in the heatmaps:
# the report calls changes within 5% "the same", so a wider interval can hide a colour's meaning.
WIDE = 0.05

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
    key: str  # the first PNG's file stem; further pages add -2, -3, ...
    title: str
    section: str = "overview"  # where report.py puts it: overview, comparison, family:<name>, or its own
    files: list[str] = field(default_factory=list)
    sentence: str = ""
    skipped: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def file(self) -> str | None:
        return self.files[0] if self.files else None

    def page_stem(self, i: int) -> str:
        return self.key if i == 0 else f"{self.key}-{i + 1}"


def png_size(path: str) -> tuple[int, int]:
    """Width and height from the PNG's header: its first chunk, IHDR, starts with them."""
    with open(path, "rb") as f:
        head = f.read(24)
    return struct.unpack(">II", head[16:24])


def stamp(fig, res: rcresults.Results) -> None:
    """Machine, suite and date in small grey type over the figure, so an image passed around alone
    still says where and when it was measured. Above the title, where no legend goes."""
    width_in = fig.get_size_inches()[0]
    text = "\n".join(textwrap.wrap(report.stamp(res), max(40, int(width_in * 15))))
    fig.text(0.5, 1.0, text, ha="center", va="bottom", fontsize=8.5, color="#555555")


def save(fig, res: rcresults.Results, out_dir: str, plot: Plot, page: int = 0) -> str:
    """Writes the figure as page `page` of `plot`. A figure that came out larger than a screen
    is written again at the resolution that fits: the layouts here are sized to fit at DPI, so this
    happens only for inputs far larger than the suites, and the plot's notes say so."""
    stamp(fig, res)
    path = os.path.join(out_dir, plot.page_stem(page) + ".png")
    # "tight" grows the canvas to hold legends placed outside the axes.
    # The stamp also goes into the PNG's Description, where a script (and the tests) can read it.
    options = dict(bbox_inches="tight", pad_inches=0.15, facecolor="white",
                   metadata={"Title": f"{plot.title} ({plot.page_stem(page)})", "Description": report.stamp(res)})
    fig.savefig(path, dpi=DPI, **options)
    width, height = png_size(path)
    if width > MAX_WIDTH_PX or height > MAX_HEIGHT_PX:
        dpi = math.floor(DPI * min(MAX_WIDTH_PX / width, MAX_HEIGHT_PX / height) * 0.98)
        fig.savefig(path, dpi=dpi, **options)
        plot.notes.append(f"{os.path.basename(path)} drawn at {dpi} dpi instead of {DPI} to fit "
                          f"{MAX_WIDTH_PX} × {MAX_HEIGHT_PX} pixels")
    plt.close(fig)
    plot.files.append(path)
    return path


def pages(items: list, most: int) -> list[list]:
    """`items` in as few pages of at most `most` as will hold them, as even as possible: 17 panels
    at 16 a page are 9 and 8, not 16 and a lonely 1."""
    if not items:
        return []
    n = math.ceil(len(items) / most)
    size = math.ceil(len(items) / n)
    return [items[i:i + size] for i in range(0, len(items), size)]


def pages_by(items: list, most: int, group) -> list[list]:
    """Pages of at most `most` items that break between groups (consecutive items with one
    group(item)) where they can: a group longer than a page is split by pages() alone."""
    runs: list[list] = []
    for item in items:
        if runs and group(runs[-1][-1]) == group(item):
            runs[-1].append(item)
        else:
            runs.append([item])
    out: list[list] = []
    for run in runs:
        for part in pages(run, most):
            if out and len(out[-1]) + len(part) <= most:
                out[-1] += part
            else:
                out.append(list(part))
    return out


def page_words(i: int, n: int) -> str:
    return f" (page {i + 1} of {n})" if n > 1 else ""


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
    """One legend for all panels, under them: per-panel legends would repeat it and cover data, and
    one to the right would widen a figure already as wide as a screen. Several families: a column
    per family headed by its name, so 19 entries make a short, wide block."""
    strategies = strategy_order(strategies)
    families = families_of(strategies)
    if len(families) <= 1:
        handles = [strategy_handle(s, bars) for s in strategies] + list(extra)
        fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), frameon=False,
                   ncol=min(len(handles), 4), columnspacing=1.6, handlelength=2.2)
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


def suptitle(fig, what: str) -> None:
    fig.suptitle(what, fontsize=13, fontweight="bold")


# ---------------------------------------------------------------------------------------------
# Throughput vs threads, one figure per family.


# A runtime engineer asks "does this kind of counter scale on this kind of program?", so a figure
# holds one family: a panel per workload with the family's members (at most eight lines, where all
# 19 in one panel were a tangle). Every panel outside the seeds also draws atomic in grey, the
# naive thread-safe count every newer strategy exists to beat, and every panel draws one dashed
# ideal: plain's 1-thread throughput times the threads, the most an unsynchronised count could
# reach. On log-log axes perfect scaling is a line parallel to it, so a strategy's slope against it
# is its scaling and its height below it is its overhead. The workloads are paged, at most
# THROUGHPUT_PANELS a figure, so a 17-workload suite is two screens, not one image 6000 pixels tall.
THROUGHPUT_PANELS = 16


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


def family_members(res: rcresults.Results, fam: str) -> list[str]:
    return [s for s in strategy_order(res.strategies()) if rcresults.family(s) == fam]


def throughput_layout(n: int) -> tuple[int, float, float]:
    """Columns and panel size for a page of n panels: four narrower columns once there are many."""
    if n > 9:
        return 4, 2.85, 2.65
    if n > 4:
        return 3, 3.6, 2.8
    return max(1, min(n, 2)), 4.4, 3.2


def plot_throughput(res: rcresults.Results, out_dir: str, plot: Plot, fam: str) -> None:
    members = family_members(res, fam)
    workloads = [w for w in workload_order(res)
                 if any(c.median("items_per_second") for c in res.measured()
                        if c.workload == w and c.strategy in members)]
    if not workloads:
        raise Skip("no items_per_second figures for this family")
    state = {"shown": set(), "cells": [], "speedups": []}
    paged = pages(workloads, THROUGHPUT_PANELS)
    for page, ws in enumerate(paged):
        ncols, panel_w, panel_h = throughput_layout(len(ws))
        fig, axes = grid(len(ws), ncols, panel_w, panel_h)
        page_state = {"shown": set(), "cells": [], "speedups": [], "oversubscribed": False, "reference_in": set(),
                      "ideal_drawn": False}
        for i, (ax, w) in enumerate(zip(axes, ws)):
            threads = res.threads(w)
            extents = throughput_panel(ax, res, w, fam, threads, page_state)
            ax.set_xscale("log", base=2)
            ax.set_xticks(threads, [str(t) for t in threads])
            ax.xaxis.set_minor_locator(ticker.NullLocator())
            ax.set_xlim(min(threads) / 1.3, max(threads) * 1.3)
            ax.set_title(w, fontsize=10)
            ax.set_xlabel("threads", fontsize=9)
            ax.tick_params(labelsize=8)
            ax.grid(True, which="major", alpha=0.3)
            # Log-log whenever the values span any range: perfect scaling is then a straight line at
            # the same slope for every strategy, and the gap to it reads as a ratio whatever the machine.
            choose_yscale(ax, extents, 1.0)
            if i % ncols == 0:
                ax.set_ylabel("items/s, all threads", fontsize=9)
        extra = []
        if page_state["reference_in"]:
            extra.append(Line2D([], [], color=REFERENCE_GREY, marker=strategy_style("atomic")[1], ms=4, lw=1.2,
                                label="atomic, for reference"))
        if page_state["ideal_drawn"]:
            extra.append(Line2D([], [], color=REFERENCE_GREY, ls="--", lw=1.0,
                                label="ideal: plain at 1 thread × threads"))
        if page_state["oversubscribed"]:
            extra.append(Line2D([], [], color="grey", marker="o", mfc="white", ls="", label="more threads than CPUs"))
        strategy_legend(fig, page_state["shown"], extra)
        suptitle(fig, f"{family_title(fam).capitalize()}: throughput vs threads, {res.scaling} scaling"
                      f"{page_words(page, len(paged))}\nmedian; {whisker_words(page_state['cells'])}")
        save(fig, res, out_dir, plot, page)
        state["shown"] |= page_state["shown"]
        state["cells"] += page_state["cells"]
        state["speedups"] += page_state["speedups"]
    reference = "" if fam == "seeds" else ", atomic in grey for reference"
    plot.sentence = (f"{report.scaling_sentence(res)} Items processed per second by all threads together at each "
                     f"thread count, a panel per workload and a line per strategy{reference}; the dashed grey line is "
                     "perfect linear scaling of plain's 1-thread figure, so a line parallel to it scales perfectly "
                     "and its distance below it is the strategy's cost.")
    if len(paged) > 1:
        plot.sentence += f" {len(workloads)} workloads on {len(paged)} pages."
    speedups = state["speedups"]
    if speedups:
        best, worst = max(speedups), min(speedups)
        plot.sentence += (f" Best speedup ({rcresults.SPEEDUP_FORMULA[res.scaling]}): {best[1]} on {best[2]}, "
                          f"{best[0]:.2f}× at {best[3]} threads; worst: {worst[1]} on {worst[2]}, {worst[0]:.2f}× "
                          f"at {worst[3]}.")


# ---------------------------------------------------------------------------------------------
# Overhead vs plain at one thread: the heatmap in the overview and a family's bar chart share one
# table of ratios.


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


# Bars a page of the overhead chart holds: beyond that a bar is too thin to see its whisker.
OVERHEAD_BARS = 72


def plot_overhead(res: rcresults.Results, out_dir: str, plot: Plot, fam: str) -> None:
    all_ratios, no_plain = overhead_ratios(res)
    ratios = {k: r for k, r in all_ratios.items() if rcresults.family(k[1]) == fam}
    if not ratios:
        raise Skip("plain is the reference, so it has no bar of its own" if family_members(res, fam) == ["plain"]
                   else "no strategy of this family ran at 1 thread on a workload plain ran on")
    workloads = list(dict.fromkeys(w for w, _ in ratios))
    strategies = strategy_order(s for _, s in ratios)
    offsets, width = family_slots(strategies)
    paged = pages(workloads, max(3, OVERHEAD_BARS // len(strategies)))
    lows = [x.low for x in ratios.values()] + [1.0]
    highs = [x.high for x in ratios.values()] + [1.0]
    lo, hi = min(lows) / 1.15, max(highs) * 1.15  # one scale on every page
    n_ci = sum(r.interval for r in ratios.values())
    whiskers = ("whiskers: from the 95% intervals of both" if n_ci == len(ratios) else
                "whiskers: fastest to slowest repetitions of both" if n_ci == 0 else
                "whiskers: from the 95% intervals of both, or their repetitions' range where a file has none")
    for page, ws in enumerate(paged):
        fig_w = min(11.0, max(6.0, 1.5 + len(ws) * (0.3 + 0.14 * len(strategies))))
        fig, ax = plt.subplots(figsize=(fig_w, 4.6), layout="constrained")
        for s in strategies:
            colour, _ = strategy_style(s)
            xs, r = [], []
            for j, w in enumerate(ws):
                if (w, s) in ratios:
                    xs.append(j + offsets[s])
                    r.append(ratios[(w, s)])
            if not r:
                continue
            # Bars grow from 1.0, so a strategy faster than plain points down.
            ax.bar(xs, [x.median - 1 for x in r], bottom=1, width=width * 0.92, color=colour, label=s, zorder=3,
                   yerr=[[x.median - x.low for x in r], [x.high - x.median for x in r]],
                   error_kw={"elinewidth": 1, "capsize": 2, "ecolor": "#444"})
        ax.axhline(1.0, color=strategy_style("plain")[0], lw=1.2, zorder=4, label="plain = 1×")
        ax.set_yscale("log", base=2)
        ax.set_ylim(lo, hi)
        ax.set_yticks(ratio_ticks(lo, hi))
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}×"))
        ax.yaxis.set_minor_locator(ticker.NullLocator())
        category_ticks(ax, ws, (fig_w - 2.5) / len(ws))
        ax.set_xlim(-0.6, len(ws) - 0.4)
        ax.set_ylabel("ns per item ÷ plain's (log scale)")
        ax.set_xlabel("workload")
        ax.grid(True, axis="y", alpha=0.3, zorder=0)
        ax.set_title(f"{family_title(fam).capitalize()}: per-item time relative to plain at 1 thread"
                     f"{page_words(page, len(paged))}\n(median; {whiskers})", fontsize=11)
        strategy_legend(fig, strategies, [Line2D([], [], color=strategy_style("plain")[0], lw=1.2,
                                                 label="plain = 1×")], bars=True)
        save(fig, res, out_dir, plot, page)
    worst = max(ratios.items(), key=lambda kv: kv[1].median)
    best = min(ratios.items(), key=lambda kv: kv[1].median)
    plot.sentence = ("What each strategy costs over unsynchronised counting on one thread: its ns per item divided "
                     "by plain's, per workload. ")
    if len(ratios) == 1:
        plot.sentence += f"{worst[0][1]} on {worst[0][0]}: {times(worst[1].median)}."
    else:
        plot.sentence += (f"Costliest: {worst[0][1]} on {worst[0][0]} at {times(worst[1].median)}; cheapest: "
                          f"{best[0][1]} on {best[0][0]} at {times(best[1].median)}.")
    missing = [w for w in no_plain if any(c.workload == w and rcresults.family(c.strategy) == fam
                                          for c in res.measured())]
    if missing:
        plot.sentence += f" {sentence_case(no_plain_note(missing))}."


# ---------------------------------------------------------------------------------------------
# The overview's two grids: strategy × workload, cost at 1 thread and speedup at the most threads.


@dataclass
class HeatCell:
    value: float  # what the colour shows, on the grid's log scale
    text: str
    half: float | None  # half the 95% interval relative to the median; None: no interval in the file


def interval_half(r: rcresults.Ratio | None) -> float | None:
    if r is None or r.low is None or not r.median:
        return None
    return (r.high - r.low) / 2 / r.median


def power_label(e: int) -> str:
    return f"{2 ** e:g}×" if e >= 0 else f"1/{2 ** -e:g}×"


def heatmap(rows: list[str], cols: list[str], col_labels: list[str], cells: dict, cmap, limit: float,
            colour_label: str, title: str, na_text: str):
    """A strategy × workload grid coloured by log2 of each cell's value. A cell whose interval is
    wide is hatched and says ±x% under its value; one without an interval says 'no CI'."""
    n_r, n_c = len(rows), len(cols)
    cell_w = min(1.05, max(0.5, 9.2 / n_c))
    cell_h = 0.46
    fontsize = 9 if cell_w >= 0.7 else 8
    longest = max(len(line) for label in col_labels for line in label.split("\n"))
    top = 0.75 + min(2.0, longest * 0.06)  # room for the slanted workload names over the columns
    fig_w = max(6.5, 2.4 + n_c * cell_w)
    fig, ax = plt.subplots(figsize=(fig_w, top + n_r * cell_h + 1.5), layout="constrained")
    chars = int(fig_w * 13)  # about what a line of 9-point type holds across the figure
    norm = mcolors.Normalize(-limit, limit)
    for i, s in enumerate(rows):
        for j, w in enumerate(cols):
            cell = cells.get((w, s))
            if cell is None:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="#f0f0f0", edgecolor="white", lw=1))
                ax.text(j, i, na_text, ha="center", va="center", fontsize=fontsize - 1, color="#999999")
                continue
            rgba = cmap(norm(cell.value))
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor=rgba, edgecolor="white", lw=1))
            dark = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2] <= 0.5
            ink, faint = ("white", "#e8e8e8") if dark else ("black", "#555555")
            mark = None
            if cell.half is None:
                mark = "no CI"
            elif cell.half > WIDE:
                mark = f"±{cell.half:.0%}"
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="////", lw=0,
                                       edgecolor=(1, 1, 1, 0.45) if dark else (0, 0, 0, 0.22)))
            if mark:
                ax.text(j, i - 0.11, cell.text, ha="center", va="center", fontsize=fontsize, color=ink)
                ax.text(j, i + 0.24, mark, ha="center", va="center", fontsize=fontsize - 2, color=faint)
            else:
                ax.text(j, i, cell.text, ha="center", va="center", fontsize=fontsize, color=ink)
    ax.set_xlim(-0.5, n_c - 0.5)
    ax.set_ylim(n_r - 0.5, -0.5)
    ax.xaxis.tick_top()
    slanted = longest * 0.075 > cell_w
    ax.set_xticks(range(n_c), col_labels, fontsize=fontsize, rotation=40 if slanted else 0,
                  ha="left" if slanted else "center", rotation_mode="anchor" if slanted else "default")
    ax.set_yticks(range(n_r), rows, fontsize=fontsize + 1)
    for label, s in zip(ax.get_yticklabels(), rows):
        label.set_color(family_colour(rcresults.family(s)))  # a family's pale shades are hard to read as text
    # Rows come family by family (strategy_order); a white rule between families and the family's
    # name right of its rows, so a reader compares within a family first.
    families = families_of(rows)
    if len(families) > 1:
        for fam in families:
            members = [i for i, s in enumerate(rows) if rcresults.family(s) == fam]
            if members[0] > 0:
                ax.axhline(members[0] - 0.5, color="white", lw=5, zorder=5)
            ax.text(n_c - 0.5 + 0.12, (members[0] + members[-1]) / 2, fam, rotation=90, ha="left", va="center",
                    fontsize=9, fontweight="bold", color=family_colour(fam), clip_on=False)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    bar = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, orientation="horizontal",
                       fraction=0.05, pad=0.02, shrink=0.7, aspect=40)
    ticks = list(range(-math.floor(limit), math.floor(limit) + 1))
    step = max(1, math.ceil(len(ticks) / 9))
    ticks = [t for t in ticks if t % step == 0]
    bar.set_ticks(ticks, labels=[power_label(t) for t in ticks])
    bar.ax.tick_params(labelsize=8)
    marks = (f"hatched, ±x%: the 95% interval reaches more than ±{WIDE:.0%} from the median; "
             "no CI: the file has no interval")
    bar.set_label("\n".join(textwrap.wrap(colour_label, chars) + textwrap.wrap(marks, chars)), fontsize=9)
    ax.set_title("\n".join(textwrap.wrap(title, int(chars * 0.8))), fontsize=12, fontweight="bold", pad=10)
    return fig


def plot_heatmap(res: rcresults.Results, out_dir: str, plot: Plot) -> None:
    ratios, no_plain = overhead_ratios(res)
    at_one = [c for c in res.measured() if c.threads == 1]
    workloads = [w for w in workload_order(res) if any(c.workload == w for c in at_one)]
    # Every strategy that ran at 1 thread gets a row, so a missing baseline shows as n/a, not as
    # a strategy that silently vanished.
    strategies = strategy_order(c.strategy for c in at_one if c.strategy != "plain")
    cells = {}
    for (w, s), r in ratios.items():
        exact = rcresults.ratio(res.reference(w, "plain", 1), res.get(w, s, 1))
        cells[(w, s)] = HeatCell(math.log2(r.median), times(r.median), interval_half(exact))
    limit = max(1.0, max(abs(c.value) for c in cells.values()))  # at least 0.5× to 2×, so noise stays pale
    labels = [w + ("\n(no plain)" if w in no_plain else "") for w in workloads]
    fig = heatmap(strategies, workloads, labels, cells, plt.get_cmap("RdBu_r"), limit,
                  "ns/item ÷ plain's (log scale): red slower than plain, blue faster",
                  "Cost over plain at 1 thread (median ns/item ÷ plain's)", "n/a")
    save(fig, res, out_dir, plot)
    wide = sum(c.half is not None and c.half > WIDE for c in cells.values())
    bare = sum(c.half is None for c in cells.values())
    worst = max(ratios.items(), key=lambda kv: kv[1].median)
    best = min(ratios.items(), key=lambda kv: kv[1].median)
    plot.sentence = ("Each strategy's median ns per item at 1 thread divided by plain's on the same workload: red is "
                     "slower than plain, blue faster, white about equal. Hatched cells with ±x% under the value: the "
                     "ratio's 95% interval (from both cells' intervals, conservatively) reaches more than "
                     f"{WIDE:.0%} from its median, so its colour is less certain than it looks ({wide} of "
                     f"{len(cells)}); *no CI*: the strategy or plain has no interval in the file ({bare}); grey n/a: "
                     "no 1-thread benchmark, or no plain to compare with.")
    if len(ratios) > 1:
        plot.sentence += (f" Costliest: {worst[0][1]} on {worst[0][0]} at {times(worst[1].median)}; cheapest: "
                          f"{best[0][1]} on {best[0][0]} at {times(best[1].median)}.")
    if no_plain:
        plot.sentence += f" {sentence_case(no_plain_note(no_plain))}."


def plot_scaling_heatmap(res: rcresults.Results, out_dir: str, plot: Plot) -> None:
    most = max(res.threads())
    if most == 1:
        raise Skip("every benchmark ran at 1 thread: no scaling to show")
    cells, col_threads = {}, {}
    for w in workload_order(res):
        n = max(res.threads(w))
        for s in strategy_order(c.strategy for c in res.measured() if c.workload == w):
            one, many = res.get(w, s, 1), res.get(w, s, n)
            gain = rcresults.speedup(one, many) if one and many and n > 1 else None
            if gain is None or gain <= 0:
                continue
            # The interval of T1/TN, scaled as the speedup is: conservative, like every ratio here.
            r = rcresults.ratio(many, one)
            cells[(w, s)] = HeatCell(math.log2(gain), times(gain), interval_half(r))
            col_threads[w] = n
    if not cells:
        raise Skip("no strategy ran both at 1 thread and at more threads on one workload")
    workloads = [w for w in workload_order(res) if w in col_threads]
    strategies = strategy_order(s for _, s in cells)
    labels = [w if col_threads[w] == most else f"{w}\n(at {col_threads[w]})" for w in workloads]
    formula = rcresults.SPEEDUP_FORMULA[res.scaling]
    fig = heatmap(strategies, workloads, labels, cells, plt.get_cmap("RdBu"), math.log2(most),
                  f"speedup, {formula} (log scale): blue gains from threads, darkest at the ideal {most}×; "
                  "red: slower than 1 thread",
                  f"Speedup at {most} threads over 1 ({formula}, {res.scaling} scaling; median)", "n/a")
    save(fig, res, out_dir, plot)
    wide = sum(c.half is not None and c.half > WIDE for c in cells.values())
    bare = sum(c.half is None for c in cells.values())
    best = max(cells.items(), key=lambda kv: kv[1].value)
    worst = min(cells.items(), key=lambda kv: kv[1].value)
    plot.sentence = (f"{report.scaling_sentence(res)} Each cell: how much faster {most} threads did the work than one "
                     f"(a workload that ran at fewer says so under its name). Ideal is {most}×, deep blue; 1× (white) "
                     "means the threads gained nothing, red that together they were slower than one thread alone. "
                     f"Hatched with ±x%: the interval of the speedup (from both cells' 95% intervals) reaches more "
                     f"than {WIDE:.0%} from its median ({wide} of {len(cells)}); *no CI*: a cell has no interval in "
                     f"the file ({bare}). Strategies run at 1 thread only, such as plain, have no row.")
    if len(cells) > 1:
        plot.sentence += (f" Best: {best[0][1]} on {best[0][0]}, {best[1].text}; worst: {worst[0][1]} on "
                          f"{worst[0][0]}, {worst[1].text}.")


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
        raise Skip("no copy-on-write figures (`cow_*` or `*_dirtied_*` counters, from the fork_cow workload) "
                   "in the results")
    n = len(res.strategies())
    panel_w = min(10.5, max(4.5, 0.6 * n + 1.5))
    ncols = 2 if n <= 6 else 1
    paged = pages(panels, 4 * ncols)
    summary = []
    for page, page_panels in enumerate(paged):
        fig, axes = grid(len(page_panels), ncols, panel_w, 3.8)
        for ax, (w, key) in zip(axes, page_panels):
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
            for tick, c in zip(ax.get_xticklabels(), cells):
                tick.set_color(family_colour(rcresults.family(c.strategy)))
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
        suptitle(fig, "Copy-on-write: memory a forked child copies by only reading (median)"
                 + page_words(page, len(paged)))
        save(fig, res, out_dir, plot, page)
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


def plot_counters(res: rcresults.Results, out_dir: str, plot: Plot, fam: str) -> None:
    # One panel per counter the family's members report; in it, a group per workload and a bar per
    # strategy at 1 thread (solid) and at the workload's most threads (hatched), so the change with
    # contention shows. Paged, at most eight panels a figure.
    members = set(family_members(res, fam))
    panels: dict[str, list[tuple[str, str, int, rcresults.Cell]]] = {}
    most = {w: max(res.threads(w)) for w in res.workloads()}
    for c in res.measured():
        if c.strategy not in members or c.threads not in (1, most[c.workload]):
            continue
        for k in strategy_counters(c):
            if c.median(k):
                panels.setdefault(k, []).append((c.workload, c.strategy, c.threads, c))
    if not panels:
        raise Skip("no non-zero strategy counters in this family's results")
    names = sorted(panels, key=lambda k: (rcresults.is_peak(k), list(COUNTER_MEANINGS).index(k)
                                          if k in COUNTER_MEANINGS else len(COUNTER_MEANINGS), k))
    order = workload_order(res)
    order_s = strategy_order(res.strategies())
    # Narrow panels while they hold few bars; two wide columns once the workloads are many.
    bars_most = max(len({b[0] for b in panels[k]}) * len({(b[1], b[2] > 1) for b in panels[k]}) for k in names)
    ncols, panel_w, panel_h = (3, 3.8, 3.2) if bars_most <= 24 else (2, 5.6, 3.1)
    paged = pages(names, 4 * ncols)
    shown, has_many = set(), False
    for page, page_names in enumerate(paged):
        fig, axes = grid(len(page_names), ncols, panel_w, panel_h)
        page_shown = set()
        for ax, k in zip(axes, page_names):
            bars = panels[k]
            workloads = [w for w in order if any(b[0] == w for b in bars)]
            slots = sorted({(b[1], b[2] > 1) for b in bars}, key=lambda st: (order_s.index(st[0]), st[1]))
            drawn = []
            for w_i, w in enumerate(workloads):
                for s_i, (s, many) in enumerate(slots):
                    cell = next((b[3] for b in bars if b[0] == w and b[1] == s and (b[2] > 1) == many), None)
                    if cell is not None:
                        drawn.append((slot_x(w_i, s_i, len(slots)), s, many, yerr(cell, k)))
            page_shown.update(d[1] for d in drawn)
            has_many |= any(d[2] for d in drawn)
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
            category_ticks(ax, workloads, (panel_w - 0.8) / len(workloads), fontsize=8 if len(workloads) > 6 else 9)
            ax.set_ylabel(unit)
            meaning = COUNTER_MEANINGS.get(k)
            ax.set_title(k + (f"\n{meaning}" if meaning else ""), fontsize=10)
            ax.grid(True, axis="y", alpha=0.3, zorder=0)
        threads_note = sorted(set(most.values()))
        many_label = (f"hatched: {threads_note[-1]} threads" if len(threads_note) == 1
                      else "hatched: each workload's most threads")
        extra = [Patch(facecolor="#888", label="solid: 1 thread")]
        if max(most.values()) > 1:
            extra.append(Patch(facecolor=mcolors.to_rgba("#888", 0.45), edgecolor="#888", hatch="///",
                               label=many_label))
        strategy_legend(fig, strategy_order(page_shown), extra, bars=True)
        suptitle(fig, f"{family_title(fam).capitalize()}: strategy counters (median), per item processed or raw "
                      f"peaks{page_words(page, len(paged))}")
        save(fig, res, out_dir, plot, page)
        shown |= page_shown
    plot.sentence = ("What each strategy did, to explain its time: summed counters divided by the items "
                     "processed by all threads, and peaks as raw counts, solid at 1 thread and hatched at the "
                     "most threads; counters that stayed zero are left out.")


# ---------------------------------------------------------------------------------------------
# Before/after: BASE NEW sharing benchmarks.

# Rows a page of the comparison holds: 0.24 inches each, so a page stays under 2000 pixels.
COMPARISON_ROWS = 48


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
    extent = [1.0] + [x for r in pairs for x in ((r.low, r.high) if r.low is not None else (r.median,))]
    lo, hi = min(extent) / 1.08, max(extent) * 1.08  # one scale on every page
    bases = ", ".join(dict.fromkeys(r.base.source.label for r in pairs))
    news = ", ".join(dict.fromkeys(r.new.source.label for r in pairs))
    with_ci = sum(r.low is not None for r in pairs)
    whiskers = ("whiskers: conservative 95% interval" if with_ci == n else
                "open markers: no interval in a file" if with_ci == 0 else
                "whiskers: conservative 95% interval; open markers: none in a file")
    paged = pages_by(pairs, COMPARISON_ROWS, lambda r: r.new.workload)
    for page, rows in enumerate(paged):
        m = len(rows)
        fig, ax = plt.subplots(figsize=(8.0, 1.6 + 0.24 * m), layout="constrained")
        # Within 5% reads as "the same" in the report and in repro-check; shade it so a reader sees
        # which points matter without reading the axis.
        ax.axvspan(0.95, 1.05, color="#dddddd", zorder=0, lw=0)
        ax.axvline(1.0, color="#222222", lw=1.0, zorder=1)
        for y, r in enumerate(rows):
            colour, marker = strategy_style(r.new.strategy)
            if r.low is not None:
                ax.errorbar(r.median, y, xerr=[[r.median - r.low], [r.high - r.median]], color=colour,
                            marker=marker, ms=6, lw=1.4, capsize=3, zorder=3)
            else:
                ax.plot(r.median, y, marker=marker, ms=6, color=colour, mfc="white", ls="", zorder=3)
        # A rule between workloads; the label on each row says the rest.
        for y in range(1, m):
            if rows[y].new.workload != rows[y - 1].new.workload:
                ax.axhline(y - 0.5, color="#999999", lw=0.6, zorder=1)
        ax.set_xscale("log", base=2)
        ax.set_xlim(lo, hi)
        ax.set_xticks(ratio_ticks(lo, hi))
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}×"))
        ax.xaxis.set_minor_locator(ticker.NullLocator())
        ax.set_yticks(range(m), [f"{r.new.workload} / {r.new.strategy} / {r.new.threads} thr" for r in rows],
                      fontsize=8 if m > 30 else 9)
        for label, r in zip(ax.get_yticklabels(), rows):
            label.set_color(family_colour(rcresults.family(r.new.strategy)))  # pale shades are hard to read as text
        ax.set_ylim(m - 0.5, -0.5)
        ax.grid(True, axis="x", alpha=0.3, zorder=0)
        ax.set_xlabel(f"ns per item: {news} ÷ {bases} (log scale; left of 1× is faster)")
        ax.set_title(f"Before/after, per benchmark{page_words(page, len(paged))}\n(median ratio; {whiskers}; "
                     "grey: within 5%)", fontsize=11)
        save(fig, res, out_dir, plot, page)
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
    if len(paged) > 1:
        plot.sentence += f" {n} benchmarks on {len(paged)} pages."


def family_maker(make, fam: str):
    return lambda res, out_dir, plot: make(res, out_dir, plot, fam)


def plan(res: rcresults.Results) -> list[tuple[Plot, object]]:
    """Every plot in the report's order, with its maker: the overview's grids, the comparison, each
    family's figures, then the copy-on-write figures."""
    plots = [(Plot("overhead_heatmap", "Cost over plain at 1 thread"), plot_heatmap),
             (Plot("scaling_heatmap", f"Speedup at {max(res.threads())} threads"), plot_scaling_heatmap),
             (Plot("comparison", "Before/after comparison", "comparison"), plot_comparison)]
    for fam in families_of(res.strategies()):
        section = f"family:{fam}"
        plots += [(Plot(f"throughput-{fam}", "Throughput vs threads", section), family_maker(plot_throughput, fam)),
                  (Plot(f"overhead-{fam}", "Overhead vs plain at 1 thread", section), family_maker(plot_overhead, fam)),
                  (Plot(f"counters-{fam}", "Strategy counters", section), family_maker(plot_counters, fam))]
    plots.append((Plot("cow", "Copy-on-write memory per forked child", "cow"), plot_cow))
    return plots


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
        raise UsageError("no strategy in the results is both in --strategies and in --families; they have: "
                         + ", ".join(f"{s} ({rcresults.family(s)})" for s in present))
    return chosen


# The PNGs this script writes, and those it wrote before the report was split by family
# (throughput.png, overhead.png, counters.png): what a run finds of them and did not write is left
# from an earlier one, say a page 3 of a larger matrix, and would sit next to a report that never
# shows it.
OUR_PNG = re.compile(r"^(?:overhead_heatmap|scaling_heatmap|comparison|cow|throughput|overhead|counters|"
                     r"(?:throughput|overhead|counters)-(?:%s))(?:-\d+)?\.png$" % "|".join(rcresults.FAMILIES))


def remove_stale(out_dir: str, written: set[str]) -> list[str]:
    removed = []
    keep = {os.path.basename(f) for f in written}
    for name in sorted(os.listdir(out_dir)):
        if OUR_PNG.match(name) and name not in keep:
            path = os.path.join(out_dir, name)
            try:
                os.remove(path)
                removed.append(path)
            except OSError:
                pass  # not ours to insist on: the report does not link it either way
    return removed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n", 1)[1].rstrip(),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+",
                    help="rcbench results JSON files; a later one adds benchmarks, and one that shares benchmarks "
                         "with an earlier one is compared with it (BASE NEW)")
    ap.add_argument("-o", "--out-dir", help="where the PNGs, report.md and report.html go (default: <first input>_report/ "
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
    for plot, make in plan(res):
        try:
            make(res, out_dir, plot)
        except Skip as e:
            plot.skipped = str(e)
        plots.append(plot)
    paths = report.write(res, plots, problems, out_dir, workload_order(res), strategy_order(res.strategies()))
    stale = remove_stale(out_dir, {f for p in plots for f in p.files})
    for p in plots:
        if p.files:
            print("\n".join(f"wrote {f}" for f in p.files))
        else:
            print(f"no {p.key}.png: {p.skipped}")
        for note in p.notes:
            print(f"note: {note}")
    print("\n".join(f"wrote {path}" for path in paths))
    for path in stale:
        print(f"removed {path}: an earlier run's, which this report does not show")
    return 0


if __name__ == "__main__":
    sys.exit(main())
