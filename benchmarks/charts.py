"""The charts of a run's results, one panel per suite, a group of bars per case:

- ``<stem>-speedup.png``: the speed-up of fused over each peer, a bar from the
  line at 1x (right of it, fused is faster);
- ``<stem>-ceiling.png``: each implementation's fraction of the device's
  ceiling (the case's bound, compute or memory, in its label).

Both on log scales. matplotlib (a dev dependency) draws them with its Agg
backend, which needs no display.
"""

import math

from . import OURS

INCHES_PER_BAR = 0.16


def write_charts(results, stem):
    """Writes the two charts next to ``stem`` (a path without suffix); returns
    their paths, none when matplotlib is not installed."""
    try:
        import matplotlib
    except ImportError:
        print(
            "note: matplotlib is not installed (pip install -r requirements-dev.txt): no charts written"
        )
        return []
    matplotlib.use("Agg")
    from matplotlib import pyplot

    by_suite = {}  # suite -> {case label: {impl: row}}, in run order
    for row in results["rows"]:
        case = f"{row['label']} {row['mode']} {row['shape']} {row['dtype']}"
        by_suite.setdefault(row["suite"], {}).setdefault(case, {})[row["impl"]] = row
    title = f"{results['device']['name']}, {results['date']}, torch {results['torch']}"
    colors = {
        impl: f"C{i}"
        for i, impl in enumerate(dict.fromkeys(row["impl"] for row in results["rows"]))
    }
    charts = {
        "speedup": (
            _speedups,
            f"speed-up of {OURS} over each peer (peer time / {OURS} time)",
            True,
            lambda value: f"{value:.3g}x",
        ),
        "ceiling": (
            _ceiling_fractions,
            "fraction of the device's ceiling",
            False,
            lambda value: f"{100 * value:.3g}%",
        ),
    }
    paths = []
    for name, (values, axis_label, from_one, label) in charts.items():
        panels = {suite: values(cases) for suite, cases in by_suite.items()}
        figure = _bar_chart(pyplot, panels, f"{title}: {axis_label}", from_one, label, colors)
        path = stem.with_name(f"{stem.name}-{name}.png")
        figure.savefig(path, dpi=100)
        pyplot.close(figure)
        paths.append(path)
    return paths


def _speedups(cases):
    """{case label: {peer: fused's speed-up over it, None where either failed}}."""
    return {
        case: {
            impl: by_impl[OURS].get("speedup_over", {}).get(impl)
            for impl in by_impl
            if impl != OURS
        }
        for case, by_impl in cases.items()
    }


def _ceiling_fractions(cases):
    """{case label [bound]: {impl: its fraction of the ceiling, None where it failed}}."""
    panel = {}
    for case, by_impl in cases.items():
        bound = next((row["bound"] for row in by_impl.values() if "bound" in row), "?")
        panel[f"{case} [{bound}]"] = {
            impl: row.get("fraction_of_ceiling") for impl, row in by_impl.items()
        }
    return panel


def _bar_chart(pyplot, panels, title, from_one, label, colors):
    """Horizontal bars on a log scale with a line at 1: a panel per suite, a
    group per case (top to bottom in run order), a bar per implementation in its
    color, from 1 if ``from_one`` else from the axis' left end, each labelled
    ``label(value)``; a failed one is marked "failed" at 1."""
    values = [
        value
        for panel in panels.values()
        for bars in panel.values()
        for value in bars.values()
        if value
    ]
    low, high = _limits(values, from_one)
    ticks = _one_two_five(low, high)
    bars_per_panel = [
        len(panel) * max(len(bars) for bars in panel.values()) + 3 for panel in panels.values()
    ]
    figure, axes = pyplot.subplots(
        len(panels),
        1,
        squeeze=False,
        layout="constrained",
        height_ratios=bars_per_panel,
        figsize=(11, 1 + INCHES_PER_BAR * sum(bars_per_panel)),
    )
    for ax, (suite, panel) in zip(axes[:, 0], panels.items()):
        impls = list(dict.fromkeys(impl for bars in panel.values() for impl in bars))
        height = 0.8 / len(impls)
        base = 1 if from_one else low
        for j, impl in enumerate(impls):
            offset = (j - (len(impls) - 1) / 2) * height
            drawn = [
                (i + offset, bars[impl]) for i, bars in enumerate(panel.values()) if bars.get(impl)
            ]
            ax.barh(
                [y for y, _ in drawn],
                [value - base for _, value in drawn],
                left=base,
                height=height,
                color=colors[impl],
            )
            for y, value in drawn:
                ax.text(
                    value,
                    y,
                    f" {label(value)} ",
                    va="center",
                    fontsize=6,
                    ha="left" if value >= base else "right",
                )
            for i, bars in enumerate(panel.values()):
                if impl in bars and bars[impl] is None:
                    ax.text(1, i + offset, " failed", va="center", fontsize=6, color="red")
        ax.axvline(1, color="black", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_xlim(low, high)
        ax.set_xticks(ticks, [label(tick) for tick in ticks], fontsize=7)
        ax.set_xticks([], minor=True)
        ax.set_yticks(range(len(panel)), list(panel), fontsize=7)
        ax.set_ylim(len(panel) - 0.5, -0.5)  # the first case at the top
        ax.set_title(suite, fontsize=9, loc="left")
        ax.legend(
            [pyplot.Rectangle((0, 0), 1, 1, color=colors[impl]) for impl in impls],
            impls,
            fontsize=7,
            loc="upper left",
            bbox_to_anchor=(1.01, 1),
        )
        ax.grid(axis="x", alpha=0.3)
    figure.suptitle(title, fontsize=9)
    return figure


def _limits(values, from_one):
    """The x range: symmetric around 1 (in ratio) for bars from 1, else from the
    decade below the smallest value to past 1; room for the labels either way."""
    if from_one:
        span = max([2] + [max(value, 1 / value) * 2 for value in values])
        return 1 / span, span
    return 10 ** math.floor(math.log10(min(values, default=0.1))), 2 * max(values + [1])


def _one_two_five(low, high):
    """The ticks 1, 2, 5 times a power of ten between low and high."""
    ticks, decade = [], 10.0 ** math.floor(math.log10(low))
    while decade <= high:
        ticks += [decade * multiple for multiple in (1, 2, 5) if low <= decade * multiple <= high]
        decade *= 10
    return ticks
