"""Runs the benchmark suites and writes, under --out, ``<device-slug>.json``, a
markdown table ``.md``, and the charts ``-speedup.png`` and ``-ceiling.png``.

    python -m benchmarks.run [--device cpu|cuda] [--quick] [--only PATTERN] [--out DIR]

A --quick or --only run writes ``<device-slug>-quick`` / ``-partial`` files, so it
never replaces the full results; a full run removes the -partial files it supersedes.

Around the cases, the run measures the device's ceilings (benchmarks/ceilings.py),
so that each case reports its fraction of them, measured in the same run.

A suite is a module ``cases_<name>.py`` listed in SUITES, with ``SUITE`` (its
name), optionally ``TIMING`` (its own warm-up and repeat counts, for slow cases)
and ``cases(device, quick)`` yielding ``(params, make_impls)``. ``params`` are the
row fields describing the case: at least ``label``, ``shape``, ``mode`` ("fwd",
"fwd (autograd)" or "fwd+bwd", see benchmarks/calls.py), ``dtype`` (a torch
dtype name), and the ``flops`` and ``bytes`` of one call (benchmarks/costs.py);
a case that processes countable things gives their number per call as ``items``
and their name as ``items_unit`` ("tokens"), and its rows get a ``throughput``
(items / s) and ``throughput_unit`` ("tokens/s").
``make_impls()`` returns ``{impl name: callable to time}``, built only when the
case runs: the implementation under test named "fused" (benchmarks.OURS), its
peers by the names a reader knows them by.
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

from . import OURS, cases_attention, cases_cells, cases_layers, cases_models, cases_training
from .ceilings import ceiling_fields, higher_of, measure_ceilings
from .charts import write_charts
from .device import device_description
from .peers import onnxruntime_status
from .report import markdown
from .timing import PEAK_MEMORY_METHOD, measure_interleaved

SUITES = (cases_cells, cases_layers, cases_attention, cases_models, cases_training)
TIMING = {"quick": dict(warmup=3, repeats=20), "full": dict(warmup=5, repeats=50)}


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--quick", action="store_true", help="fewer shapes and repeats")
    parser.add_argument(
        "--only",
        metavar="PATTERN",
        help="run only cases whose id matches this regular expression (case-insensitive)",
    )
    parser.add_argument(
        "--skip-peers",
        metavar="PATTERN",
        help="leave out the peers whose name matches this regular expression (e.g. FlashRNN, "
        "which compiles its kernels on first use)",
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)

    if args.device == "cuda":
        if not torch.cuda.is_available():
            sys.exit("benchmarks.run: --device cuda asked for, but torch sees no CUDA GPU here.")
        # float32 comparisons in full float32 (docs/design.md, "Measuring").
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False

    device = device_description(args.device)
    backend = seq2seq_ext.backend_info()
    for op, served_by in backend["ops"].items():
        if served_by[args.device] != "kernel":
            print(
                f"note: {op} on {args.device} runs the pure-PyTorch reference, not a compiled kernel"
            )
    onnxruntime = onnxruntime_status(args.device)
    if "skipped" in onnxruntime:
        print(f"note: no onnxruntime peers: {onnxruntime['skipped']}")
    run_kind = "quick" if args.quick else "full"
    timing = TIMING[run_kind]
    print(
        f"device: {device['name']} ({device['slug']}), torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, warmup {timing['warmup']}, repeats {timing['repeats']}"
    )

    selected = _select_cases(args.device, args.quick, args.only)
    if not selected:
        sys.exit(f"benchmarks.run: no case matches --only {args.only!r}")
    load_before = os.getloadavg()
    rows, ceilings = _measure(selected, args.device, run_kind, args.skip_peers)
    results = dict(
        device=device,
        torch=torch.__version__,
        onnxruntime=onnxruntime,
        date=datetime.date.today().isoformat(),
        threads=torch.get_num_threads(),
        backend=backend,
        quick=args.quick,
        only=args.only,
        timing=timing,
        load_average_1m=dict(before=load_before[0], after=os.getloadavg()[0]),
        ceilings=ceilings,
        peak_memory=PEAK_MEMORY_METHOD[device["type"]],
        rows=rows,
    )

    args.out.mkdir(parents=True, exist_ok=True)
    if not args.quick and not args.only:
        for superseded in args.out.glob(f"{device['slug']}-partial*"):
            superseded.unlink()
    stem = args.out / (
        device["slug"] + ("-quick" if args.quick else "") + ("-partial" if args.only else "")
    )
    written = [stem.with_suffix(".json"), stem.with_suffix(".md")]
    written[0].write_text(json.dumps(results, indent=1) + "\n")
    written[1].write_text(markdown(results))
    written += write_charts(results, stem)
    print("wrote " + ", ".join(str(path) for path in written))
    failed = [row for row in rows if row["impl"] == OURS and "error" in row]
    if failed:  # a peer may fail (its row says why); the implementation under test may not
        sys.exit(
            f"benchmarks.run: {OURS} failed in {len(failed)} case(s): "
            + "; ".join(
                f"{row['label']} {row['mode']} {row['shape']}: {row['error']}" for row in failed
            )
        )


def _select_cases(device, quick, only):
    """[(suite, case id, params, make_impls)] of the cases to run."""
    selected = []
    for suite in SUITES:
        for params, make_impls in suite.cases(device, quick):
            case_id = f"{suite.SUITE}: {params['label']} {params['mode']} {params['shape']} {params['dtype']}"
            if not only or re.search(only, case_id, re.IGNORECASE):
                selected.append((suite, case_id, params, make_impls))
    return selected


def _measure(selected, device, run_kind, skip_peers=None):
    """Runs the cases between two measurements of the ceilings; returns the
    rows, with their fractions of the ceilings, and the ceilings."""
    dtype_names = sorted({params["dtype"] for _, _, params, _ in selected})
    ceilings_before = measure_ceilings(device, dtype_names)
    rows = []
    for suite, case_id, params, make_impls in selected:
        # Dynamo keeps at most torch._dynamo.config.recompile_limit (8) compiled
        # variants of a function, then runs it eagerly: each case compiles afresh.
        torch.compiler.reset()
        suite_timing = getattr(suite, "TIMING", TIMING)[run_kind]
        impls = {
            name: fn
            for name, fn in make_impls().items()
            if name == OURS or not (skip_peers and re.search(skip_peers, name))
        }
        rows.extend(_run_case(suite, case_id, params, impls, device, suite_timing))
    ceilings = higher_of(ceilings_before, measure_ceilings(device, dtype_names))
    print(
        f"ceilings: copy {ceilings['copy']['gbps']:.1f} GB/s, GEMM "
        + ", ".join(
            f"{dtype} {gemm['gflops']:.0f} GFLOP/s" for dtype, gemm in ceilings["gemm"].items()
        )
    )
    for row in rows:
        if "median_ms" in row:
            row.update(
                ceiling_fields(row["flops"], row["bytes"], row["dtype"], row["median_ms"], ceilings)
            )
    return rows, ceilings


def _run_case(suite, case_id, params, impls, device, timing):
    """Times the impls of one case; returns a row for each, with its throughput
    where the case counts items. The fused row gains
    ``speedup_over`` {peer: peer median / fused median}; a failed impl's row
    holds its ``error`` instead of times."""
    rows = {
        impl: dict(suite=suite.SUITE, **params, impl=impl, **stats)
        for impl, stats in measure_interleaved(impls, device, **timing).items()
    }
    for row in rows.values():
        if "items" in row and "median_ms" in row:
            row.update(
                throughput=row["items"] / (row["median_ms"] / 1e3),
                throughput_unit=f"{row['items_unit']}/s",
            )
    ours = rows[OURS]
    if "median_ms" in ours:
        ours["speedup_over"] = {
            impl: row["median_ms"] / ours["median_ms"]
            for impl, row in rows.items()
            if impl != OURS and "median_ms" in row
        }
    print(case_id + ": " + ", ".join(_summary(row, ours) for row in rows.values()), flush=True)
    return list(rows.values())


def _summary(row, ours):
    """'fused 1.234 ms', 'torch.nn 2.345 ms (fused x1.90)', 'peer FAILED (error)',
    with the throughput where the case has one: 'fused 1.234 ms 51,864.2 tokens/s'."""
    if "error" in row:
        return f"{row['impl']} FAILED ({row['error']})"
    text = f"{row['impl']} {row['median_ms']:.3f} ms"
    if "throughput" in row:
        text += f" {row['throughput']:,.1f} {row['throughput_unit']}"
    if row is not ours and "speedup_over" in ours:
        return text + f" (fused x{ours['speedup_over'][row['impl']]:.2f})"
    return text


if __name__ == "__main__":
    main()
