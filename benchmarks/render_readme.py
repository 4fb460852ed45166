"""Writes the benchmark pages from the committed results files.

    python -m benchmarks.render_readme [--page docs/benchmarks.md] [--readme README.md]
                                       [--results DIR]

In the page (docs/benchmarks.md), replaces what stands between
<!-- benchmarks:start --> and <!-- benchmarks:end --> with the markdown pages of
the results in benchmarks/results/ (each states its device and date) and their
charts: full runs and --only (-partial) runs, not --quick ones. In the README,
replaces what stands between <!-- benchmarks:headline:start --> and
<!-- benchmarks:headline:end --> with a few rows (HEADLINES) of each full run's
results, as the page's tables show them. So no figure in either is typed by hand.
"""

import argparse
import json
import os
import re
import sys
from pathlib import Path

from . import OURS

ROOT = Path(__file__).parent.parent
RESULTS = Path(__file__).parent / "results"
START, END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"
HEADLINE_START, HEADLINE_END = (
    "<!-- benchmarks:headline:start -->",
    "<!-- benchmarks:headline:end -->",
)
CHARTS = {
    "speedup": "Speed-up of fused over each peer",
    "ceiling": "Fraction of the device's ceiling",
}
# The README's rows: (suite, case label, shape, mode, the peer to compare with),
# chosen to show where the fused kernels gain and where torch.nn's own kernels
# are as fast or faster. A row a results file lacks is left out (with a note).
HEADLINES = [
    ("layers", "LSTM", "B=64 T=50 E=H=256", "fwd", "onnxruntime(torch.nn)"),
    ("layers", "LSTM", "B=1 T=100 E=H=512", "fwd", "onnxruntime(torch.nn)"),
    ("layers", "GRU", "B=64 T=50 E=H=256", "fwd", "onnxruntime(torch.nn)"),
    ("layers", "LSTM", "B=64 T=50 E=H=256", "fwd+bwd", "torch.nn"),
    ("layers", "GRU", "B=64 T=50 E=H=256", "fwd+bwd", "torch.nn"),
    ("layers", "GRU", "B=1 T=100 E=H=512", "fwd+bwd", "torch.nn"),
    ("attention", "Bahdanau", "B=64 S=50 A=512 D=512", "fwd+bwd", "eager"),
    (
        "models",
        "teacher-forced pass",
        "LSTM B=64 S=50 T=50 E=512 H=512 V=8000",
        "fwd+bwd",
        "torch.nn",
    ),
    (
        "models",
        "training step, input feeding",
        "GRU B=64 S=11 T=11 E=64 H=128 V=34",
        "fwd+bwd",
        "torch.nn",
    ),
    ("models", "beam 4 decode", "LSTM B=64 S=50 T=50 E=512 H=512 V=8000", "fwd", "torch.nn"),
    (
        "models",
        "greedy decode",
        "2-layer bidirectional GRU B=1 S=20 T=25 E=256 H=256 V=8000",
        "fwd",
        "torch.nn",
    ),
    (
        "models",
        "beam 5 decode",
        "2-layer bidirectional GRU B=1 S=20 T=25 E=256 H=256 V=8000",
        "fwd",
        "torch.nn",
    ),
    (
        "training",
        "training epoch",
        "bidirectional GRU B=64 S,T=5-30 E=64 H=256 V=3765 pairs=3200",
        "fwd+bwd",
        "torch.nn",
    ),
    (
        "training",
        "training epoch, input feeding",
        "bidirectional GRU B=64 S,T=5-30 E=64 H=256 V=3765 pairs=3200",
        "fwd+bwd",
        "torch.nn",
    ),
    (
        "models",
        "greedy decode, int8 weights",
        "2-layer bidirectional GRU B=1 S=20 T=25 E=256 H=256 V=8000",
        "fwd",
        "quantize_dynamic(torch.nn)",
    ),
]


def performance_section(results_dir, page_dir):
    """The page's generated text; links are relative to ``page_dir``."""
    tables = sorted(p for p in results_dir.glob("*.md") if "-quick" not in p.stem)
    if not tables:
        return "No benchmark results committed yet."
    parts = []
    for table in tables:
        text = table.read_text().strip()
        text = re.sub(r"^(#+) ", r"#\1 ", text, flags=re.M)  # one level down, under the title
        for chart, title in CHARTS.items():
            image = table.with_name(f"{table.stem}-{chart}.png")
            if image.exists():
                text += f"\n\n![{title}]({_link(image, page_dir)})"
        parts.append(f"{text}\n\n(from `{_link(table, page_dir)}`)")
    return "\n\n".join(parts)


def headline_section(results_dir, readme_dir):
    """The README's rows of each full run (not --quick, not --only), formatted as
    benchmarks/report.py formats the page's tables; links relative to ``readme_dir``."""
    runs = []
    for path in sorted(results_dir.glob("*.json")):
        results = json.loads(path.read_text())
        if not results.get("quick") and not results.get("only"):
            runs.append((path, results))
    parts = []
    for path, results in runs:
        fused = {
            (row["suite"], row["label"], row["shape"], row["mode"]): row
            for row in results["rows"]
            if row["impl"] == OURS
        }
        by_peer = {
            (row["suite"], row["label"], row["shape"], row["mode"], row["impl"]): row
            for row in results["rows"]
        }
        lines = []
        for suite, label, shape, mode, peer in HEADLINES:
            ours = fused.get((suite, label, shape, mode))
            theirs = by_peer.get((suite, label, shape, mode, peer))
            speedup = (ours or {}).get("speedup_over", {}).get(peer)
            if speedup is None:  # the case or the peer not run, or failed
                print(
                    f"note: {path.name} has no {OURS} and {peer} times of {suite}:"
                    f" {label} {mode} {shape}; left out",
                    file=sys.stderr,
                )
                continue
            lines.append(
                f"| {label} | {shape} | {mode} | {ours['median_ms']:.3f} | {peer}"
                f" | {theirs['median_ms']:.3f} | {speedup:.2f}x |"
            )
        if not lines:
            continue
        device = results["device"]
        parts.append(
            "\n".join(
                [
                    f"{device['name']}, {results['date']}, torch {results['torch']},"
                    f" {results['threads']} CPU threads (from `{_link(path, readme_dir)}`):",
                    "",
                    f"| case | shape | mode | {OURS} ms | peer | peer ms"
                    f" | {OURS} speed-up over the peer |",
                    "|---|---|---|---:|---|---:|---:|",
                    *lines,
                ]
            )
        )
    return "\n\n".join(parts) if parts else "No full benchmark run committed yet."


def _link(path, from_dir):
    return Path(os.path.relpath(path, from_dir)).as_posix()


def _replace_block(path, start, end, render):
    """Replaces what stands between ``start`` and ``end`` in the file at ``path``
    with ``render(the file's folder)``."""
    text = path.read_text()
    if start not in text or end not in text:
        raise SystemExit(f"{path} has no {start} ... {end} block")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{start}\n{render(path.resolve().parent)}\n{end}{tail}")
    print(f"updated {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--page",
        type=Path,
        default=ROOT / "docs" / "benchmarks.md",
        help="the page of every table and chart (default: docs/benchmarks.md)",
    )
    parser.add_argument(
        "--readme",
        type=Path,
        default=ROOT / "README.md",
        help="the file of the headline rows (default: README.md)",
    )
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    _replace_block(args.page, START, END, lambda d: performance_section(args.results, d))
    _replace_block(
        args.readme, HEADLINE_START, HEADLINE_END, lambda d: headline_section(args.results, d)
    )


if __name__ == "__main__":
    main()
