"""Compares two benchmark runs case by case, and flags the regressions beyond noise.

    python -m benchmarks.compare OLD.json NEW.json [--threshold 0.10] [--no-fail]

(``python benchmarks/compare.py ...`` works too.) For each implementation of each
case in both files, the ratio of medians new / old. A row regresses when its
new median exceeds the old by more than the threshold AND the two runs' spreads
do not overlap (the new 20th percentile above the old 80th): slower beyond both
the threshold and the noise either run saw. A row that ran in OLD and failed in
NEW regresses too. Improvements are marked the same way, the other way round.
Prints a table; exits 1 if any row regressed (0 with --no-fail). Warns when the
files come from different devices, thread counts or torch versions, where the
ratios measure the machines as well as the code.
"""

import argparse
import json
import sys
from pathlib import Path


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.compare", description=__doc__.splitlines()[0]
    )
    parser.add_argument("old", type=Path, help="results JSON of the earlier run")
    parser.add_argument("new", type=Path, help="results JSON of the later run")
    parser.add_argument(
        "--threshold",
        type=float,
        default=0.10,
        help="relative slowdown that may count as a regression (default 0.10: 10%%)",
    )
    parser.add_argument("--no-fail", action="store_true", help="report regressions, but exit 0")
    args = parser.parse_args(argv)
    old, new = (json.loads(path.read_text()) for path in (args.old, args.new))
    for warning in mismatches(old, new):
        print(f"warning: {warning}", file=sys.stderr)
    compared = compare(old, new, args.threshold)
    print(table(compared))
    regressions = [row for row in compared if row["verdict"] == "REGRESSION"]
    print(
        f"\n{len(regressions)} regression(s) among {len(compared)} rows compared "
        f"(threshold {args.threshold:.0%}, and the 20th-80th percentile intervals apart)."
    )
    return 1 if regressions and not args.no_fail else 0


def mismatches(old, new):
    """What differs between the machines (or software) of the two runs."""
    facts = {
        "device": lambda run: run["device"]["name"],
        "thread count": lambda run: run["threads"],
        "torch version": lambda run: run["torch"],
    }
    return [
        f"the runs differ in {fact}: {get(old)!r} (old) vs {get(new)!r} (new)"
        for fact, get in facts.items()
        if get(old) != get(new)
    ]


def compare(old, new, threshold):
    """A dict per (case, impl) row present in both runs, in NEW's order: case,
    impl, old_ms, new_ms, ratio (new / old) and verdict ("REGRESSION",
    "improved" or "" within noise). Rows that failed in OLD are not compared."""
    old_rows = {_key(row): row for row in old["rows"]}
    compared = []
    for row in new["rows"]:
        before = old_rows.get(_key(row))
        if before is None or "median_ms" not in before:
            continue
        entry = dict(case=_case(row), impl=row["impl"], old_ms=before["median_ms"])
        if "median_ms" not in row:
            compared.append(dict(entry, new_ms=None, ratio=None, verdict="REGRESSION"))  # it failed
            continue
        ratio = row["median_ms"] / before["median_ms"]
        if ratio > 1 + threshold and row["p20_ms"] > before["p80_ms"]:
            verdict = "REGRESSION"
        elif ratio < 1 / (1 + threshold) and row["p80_ms"] < before["p20_ms"]:
            verdict = "improved"
        else:
            verdict = ""
        compared.append(dict(entry, new_ms=row["median_ms"], ratio=ratio, verdict=verdict))
    return compared


def table(compared):
    """The comparison as aligned text columns."""
    lines = [("case", "impl", "old ms", "new ms", "new/old", "")]
    for row in compared:
        lines.append(
            (
                row["case"],
                row["impl"],
                f"{row['old_ms']:.3f}",
                "failed" if row["new_ms"] is None else f"{row['new_ms']:.3f}",
                "-" if row["ratio"] is None else f"{row['ratio']:.2f}",
                row["verdict"],
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    align = ["<", "<", ">", ">", ">", "<"]
    return "\n".join(
        "  ".join(f"{cell:{a}{w}}" for cell, a, w in zip(line, align, widths)).rstrip()
        for line in lines
    )


def _case(row):
    return f"{row['suite']}: {row['label']} {row['mode']} {row['shape']} {row['dtype']}"


def _key(row):
    """What identifies a row across runs (fields every results file has)."""
    return _case(row), row["impl"]


if __name__ == "__main__":
    sys.exit(main())
