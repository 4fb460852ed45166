"""The markdown page of a run's results (benchmarks.run writes it next to the
JSON; benchmarks.render_readme pastes it into the README)."""

from . import OURS

METHOD = (
    "Each time is the median of n timed calls after warm-up calls, the implementations called in"
    " turn (onnxruntime's in a block of their own calls after the others': its threads spin after"
    " each run, which would slow the next call). Speed-up over a peer = the peer's median /"
    f" {OURS}'s, measured in the same run."
    f" Fraction of ceiling: {OURS}'s achieved GFLOP/s / GEMM ceiling or GB/s / copy bandwidth, whichever is"
    " bigger (the bound named), from the case's FLOPs and bytes as benchmarks/costs.py estimates them."
    " Peak MiB: the most memory one call holds beyond what was allocated when it began"
    " (the JSON's peak_memory says how it is measured). Throughput, where a case has one:"
    f" the tokens or sentences one call processes / {OURS}'s median."
)


def markdown(results):
    device = results["device"]
    lines = [
        f"# Benchmarks on {device['name']}",
        "",
        _facts(results),
        "",
        _ceilings(results["ceilings"]),
        "",
        METHOD,
        "",
    ]
    suites = dict.fromkeys(row["suite"] for row in results["rows"])
    for suite in suites:
        lines += _suite_table(suite, [row for row in results["rows"] if row["suite"] == suite])
    return "\n".join(lines)


def _facts(results):
    device = results["device"]
    facts = [results["date"], f"torch {results['torch']}"]
    if device["type"] == "cuda":
        facts += [
            f"CUDA {device['cuda_runtime']}",
            f"cuDNN {device['cudnn']}",
            f"driver {device['driver']}",
            f"compute capability {device['capability']}",
            f"{device['multiprocessors']} SMs",
            f"{device['memory_gib']} GiB",
            f"SM clock {device['sm_clock_mhz']} MHz at the start (max {device['max_sm_clock_mhz']} MHz)",
        ]
    facts.append(f"{results['threads']} CPU threads")
    onnxruntime = results.get("onnxruntime")  # absent in runs before it was a peer
    if onnxruntime:
        facts.append(
            f"onnxruntime {onnxruntime['version']}"
            if "version" in onnxruntime
            else f"no onnxruntime peers: {onnxruntime['skipped']}"
        )
    if results["quick"]:
        facts.append("quick run")
    if results["only"]:
        facts.append(f"only the cases matching `{results['only']}`")
    return ", ".join(facts) + "."


def _ceilings(ceilings):
    copy = ceilings["copy"]
    gemms = ", ".join(
        f"{dtype} {gemm['gflops']:.0f} GFLOP/s (the best of: "
        + ", ".join(f"{name} {rate:.0f}" for name, rate in gemm["candidates"].items())
        + ")"
        for dtype, gemm in ceilings["gemm"].items()
    )
    text = (
        f"Ceilings measured in this run (the fastest call, before and after the cases, the higher):"
        f" copy bandwidth {copy['gbps']:.1f} GB/s ({copy['bytes'] / 2**20:.0f} MiB read and written);"
        f" GEMM ceiling {gemms}."
    )
    peak = ceilings.get("fma_peak")
    if peak:
        text += (
            f" Theoretical float32 FMA peak {peak['gflops']:.0f} GFLOP/s ="
            f" {peak['threads']} threads x {peak['fma_units_per_core']} FMA units (assumed) x 2"
            f" x {peak['float32_lanes']} lanes x {peak['ghz']:.2f} GHz (the clock /proc/cpuinfo"
            " reports)."
        )
    return text


def _suite_table(suite, rows):
    impls = list(dict.fromkeys(row["impl"] for row in rows))
    peers = [impl for impl in impls if impl != OURS]
    cases = {}  # case fields -> {impl: row}, in run order
    for row in rows:
        cases.setdefault((row["label"], row["shape"], row["dtype"], row["mode"]), {})[
            row["impl"]
        ] = row
    n = next((row["n"] for row in rows if "n" in row), 0)
    has_throughput = any("items" in row for row in rows)
    header = (
        ["case", "shape", "dtype", "mode"]
        + [f"{impl} ms" for impl in impls]
        + [f"{OURS} speed-up over {peer}" for peer in peers]
        + [f"{OURS} GFLOP/s", f"{OURS} fraction of ceiling", f"{OURS} peak MiB"]
        + [f"{OURS} throughput"] * has_throughput
    )
    lines = [
        f"## {suite}",
        "",
        f"n = {n} per implementation.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * 4 + "---:|" * (len(header) - 4),
    ]
    failures = []
    for key, by_impl in cases.items():
        ours = by_impl[OURS]
        cells = list(key)
        for impl in impls:
            row = by_impl.get(impl)  # a peer of some cases only (e.g. quantize_dynamic)
            if row is None:
                cells.append("-")
                continue
            if "error" in row:
                failures.append(f"{impl}, {' '.join(key)}: {row['error']}")
            cells.append("failed" if "error" in row else f"{row['median_ms']:.3f}")
        speedups = ours.get("speedup_over", {})
        cells += [f"{speedups[peer]:.2f}x" if peer in speedups else "-" for peer in peers]
        if "error" in ours:
            cells += ["-", "-", "-"]
        else:
            cells += [
                f"{ours['gflops']:.1f}",
                f"{_percent(ours['fraction_of_ceiling'])} ({ours['bound']})",
                f"{ours['peak_memory_mib']:.1f}",
            ]
        if has_throughput:
            cells.append(
                f"{ours['throughput']:,.1f} {ours['throughput_unit']}"
                if "throughput" in ours
                else "-"
            )
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    if failures:
        lines += ["Failed:", ""] + [f"- {failure}" for failure in failures] + [""]
    return lines


def _percent(fraction):
    """0.456 -> '45.6%', 0.000123 -> '0.012%': two significant digits at least."""
    return f"{100 * fraction:.1f}%" if fraction >= 0.01 else f"{100 * fraction:.2g}%"
