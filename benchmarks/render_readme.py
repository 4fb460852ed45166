"""Writes the README's Performance section from the committed results files.

    python -m benchmarks.render_readme [--readme README.md] [--results DIR]

Replaces what stands between <!-- benchmarks:start --> and <!-- benchmarks:end -->
with the markdown tables of the results in benchmarks/results/: full runs and
--only (-partial) runs, not --quick ones; so no figure in the README is typed by hand.
"""
import argparse
import re
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
START, END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"


def performance_section(results_dir=RESULTS):
    tables = sorted(p for p in results_dir.glob("*.md") if "-quick" not in p.stem)
    if not tables:
        return "No benchmark results committed yet."
    parts = []
    for table in tables:
        text = table.read_text().strip()
        text = re.sub(r"^# ", "### ", text, flags=re.M)   # the file's title, one level down
        text = re.sub(r"^## ", "#### ", text, flags=re.M)
        parts.append(f"{text}\n\n(from `benchmarks/results/{table.name}`)")
    return "\n\n".join(parts)


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
    args.readme.write_text(f"{head}{START}\n{performance_section(args.results)}\n{END}{tail}")
    print(f"updated {args.readme}")


if __name__ == "__main__":
    main()
