"""Writes the README's Performance section from the committed results files.

    python -m benchmarks.render_readme [--readme README.md] [--results DIR]

Replaces what stands between <!-- benchmarks:start --> and <!-- benchmarks:end -->
with the markdown pages of the results in benchmarks/results/ (each states its
device and date) and their charts: full runs and --only (-partial) runs, not
--quick ones; so no figure in the README is typed by hand.
"""

import argparse
import os
import re
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
START, END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"
CHARTS = {
    "speedup": "Speed-up of fused over each peer",
    "ceiling": "Fraction of the device's ceiling",
}


def performance_section(results_dir, readme_dir):
    """The section's text; links are relative to ``readme_dir``."""
    tables = sorted(p for p in results_dir.glob("*.md") if "-quick" not in p.stem)
    if not tables:
        return "No benchmark results committed yet."
    parts = []
    for table in tables:
        text = table.read_text().strip()
        text = re.sub(r"^# ", "### ", text, flags=re.M)  # the file's title, one level down
        text = re.sub(r"^## ", "#### ", text, flags=re.M)
        for chart, title in CHARTS.items():
            image = table.with_name(f"{table.stem}-{chart}.png")
            if image.exists():
                text += f"\n\n![{title}]({_link(image, readme_dir)})"
        parts.append(f"{text}\n\n(from `{_link(table, readme_dir)}`)")
    return "\n\n".join(parts)


def _link(path, readme_dir):
    return Path(os.path.relpath(path, readme_dir)).as_posix()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", type=Path, default=Path(__file__).parent.parent / "README.md")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    readme = args.readme.read_text()
    if START not in readme or END not in readme:
        raise SystemExit(f"{args.readme} has no {START} ... {END} block")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    section = performance_section(args.results, args.readme.resolve().parent)
    args.readme.write_text(f"{head}{START}\n{section}\n{END}{tail}")
    print(f"updated {args.readme}")


if __name__ == "__main__":
    main()
