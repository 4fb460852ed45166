"""Runs the benchmark suites and writes ``<out>/<device-slug>.json`` and ``.md``.

    python -m benchmarks.run [--device cpu|cuda] [--quick] [--only PATTERN] [--out DIR]

A --quick or --only run writes ``<device-slug>-quick`` / ``-partial`` files, so it
never replaces the full results; a full run removes the -partial files it supersedes.

A suite is a module with ``SUITE`` (its name), ``BASELINE`` (the impl the
others are compared with), optionally ``TIMING`` (its own warm-up and repeat
counts, for slow cases) and ``cases(device, quick)`` yielding
``(params, make_impls)``: ``params`` are the row fields describing the case
(including the display fields ``label`` and ``shape``), ``make_impls()``
returns ``{impl name: callable to time}``, built only when the case runs.
"""
import argparse
import datetime
import json
import os
import re
import sys
from pathlib import Path

import torch

import seq2seq_ext
from . import cases_attention, cases_cells, cases_layers
from .timing import device_description, measure_interleaved

SUITES = (cases_cells, cases_layers, cases_attention)
TIMING = {"quick": dict(warmup=3, repeats=20), "full": dict(warmup=5, repeats=50)}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--quick", action="store_true", help="fewer shapes and repeats")
    parser.add_argument("--only", metavar="PATTERN",
                        help="run only cases whose id matches this regular expression (case-insensitive)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)

    if args.device == "cuda":
        if not torch.cuda.is_available():
            sys.exit("benchmarks.run: --device cuda asked for, but torch sees no CUDA GPU here.")
        # float32 comparisons in full float32 (DESIGN.md, "Measuring").
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False

    device = device_description(args.device)
    backend = seq2seq_ext.backend_info()
    for op, served_by in backend["ops"].items():
        if served_by[args.device] != "kernel":
            print(f"note: {op} on {args.device} runs the pure-PyTorch reference, not a compiled kernel")
    run_kind = "quick" if args.quick else "full"
    timing = TIMING[run_kind]
    print(f"device: {device['name']} ({device['slug']}), torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, warmup {timing['warmup']}, repeats {timing['repeats']}")

    load_before = os.getloadavg()
    rows = []
    for suite in SUITES:
        for params, make_impls in suite.cases(args.device, args.quick):
            case_id = f"{suite.SUITE}: {params['label']} {params['mode']} {params['shape']} {params['dtype']}"
            if args.only and not re.search(args.only, case_id, re.IGNORECASE):
                continue
            suite_timing = getattr(suite, "TIMING", TIMING)[run_kind]
            rows.extend(_run_case(suite, case_id, params, make_impls(), args.device, suite_timing))

    results = dict(
        device=device, torch=torch.__version__, date=datetime.date.today().isoformat(),
        threads=torch.get_num_threads(), backend=backend, quick=args.quick, only=args.only,
        timing=timing, load_average_1m=dict(before=load_before[0], after=os.getloadavg()[0]),
        rows=rows)
    args.out.mkdir(parents=True, exist_ok=True)
    name = device["slug"] + ("-quick" if args.quick else "") + ("-partial" if args.only else "")
    json_path = args.out / f"{name}.json"
    json_path.write_text(json.dumps(results, indent=1) + "\n")
    md_path = args.out / f"{name}.md"
    md_path.write_text(_markdown(results))
    if not args.quick and not args.only:
        for superseded in args.out.glob(f"{device['slug']}-partial.*"):
            superseded.unlink()
    print(f"wrote {json_path} and {md_path}")


def _run_case(suite, case_id, params, impls, device, timing):
    stats = measure_interleaved(impls, device, **timing)
    rows = [dict(suite=suite.SUITE, **params, impl=impl, **stats[impl]) for impl in impls]
    baseline_ms = next(row["median_ms"] for row in rows if row["impl"] == suite.BASELINE)
    speedup_key = _speedup_key(suite.BASELINE)
    for row in rows:
        if row["impl"] != suite.BASELINE:
            row[speedup_key] = baseline_ms / row["median_ms"]
    print(case_id + ": " + ", ".join(
        f"{row['impl']} {row['median_ms']:.3f} ms" + (f" (x{row[speedup_key]:.2f})" if speedup_key in row else "")
        for row in rows), flush=True)
    return rows


def _speedup_key(baseline):
    return "speedup_vs_" + re.sub(r"\W+", "_", baseline)  # "torch.nn" -> "speedup_vs_torch_nn"


def _markdown(results):
    device = results["device"]
    lines = [f"# Benchmarks on {device['name']}", "",
             f"{results['date']}, torch {results['torch']}, {results['threads']} CPU threads"
             + (f", {device['type']} {device.get('capability', '')}" if device["type"] == "cuda" else "")
             + (", quick run" if results["quick"] else "")
             + (f", only the cases matching `{results['only']}`" if results["only"] else "")
             + ". Each time is the median of n timed calls after warm-up calls, the implementations"
             " called in turn; speed-up = baseline median / median, measured in the same run.", ""]
    for suite in SUITES:
        suite_rows = [row for row in results["rows"] if row["suite"] == suite.SUITE]
        if not suite_rows:
            continue
        impls = list(dict.fromkeys(row["impl"] for row in suite_rows))
        others = [impl for impl in impls if impl != suite.BASELINE]
        lines += [f"## {suite.SUITE}", "", f"n = {suite_rows[0]['n']} per implementation.", "",
                  "| case | shape | dtype | mode | " + " | ".join(f"{impl} ms" for impl in impls)
                  + " | " + " | ".join(f"{impl} speed-up vs {suite.BASELINE}" for impl in others) + " |",
                  "|" + "---|" * 4 + "---:|" * (len(impls) + len(others))]
        cases = {}  # case fields -> {impl: row}, in run order
        for row in suite_rows:
            key = (row["label"], row["shape"], row["dtype"], row["mode"])
            cases.setdefault(key, {})[row["impl"]] = row
        for key, by_impl in cases.items():
            cells = list(key) + [f"{by_impl[impl]['median_ms']:.3f}" for impl in impls]
            cells += [f"{by_impl[impl][_speedup_key(suite.BASELINE)]:.2f}x" for impl in others]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
