"""The device's limits, measured in the same run as the cases, and a case's
fraction of them.

Copy bandwidth: a large tensor copy, the bytes read and written / time.

GEMM ceiling, per dtype: the best rate of several candidates, since no single
call shows what the device can do: matmuls of several shapes (square, and the
shapes of the recurrent layers' own products), and torch.nn.LSTM, whose fused
library kernel (oneDNN on the CPU, cuDNN on the GPU) can beat the BLAS on
recurrent work. Float32 runs with TF32 off on CUDA, as benchmarks.run sets.

Each rate is that of the fastest call, and benchmarks.run measures the ceilings
before and after the cases and keeps the higher: a moment when other processes
load the machine lowers a measurement, and would make the cases' fractions too
high.

On the CPU the run also states the theoretical FMA peak, from the vector width
the CPU reports and its clock (see fma_peak); a measured ceiling below it is
what the machine delivers, and fractions are of the measured ceiling.
"""

import os
import re

import torch

from seq2seq_ext.cell_types import LSTM

from .costs import recurrent_costs
from .timing import measure_interleaved

# Elements per tensor copied: beyond the caches, and long enough to time.
COPY_ELEMENTS = {"cpu": 1 << 26, "cuda": 1 << 28}
# GEMM candidates (m, n, k): squares, and the layers' products: all steps' input
# projection (T*B, G*H, E) and one step's recurrent product (B, G*H, H), at the
# benchmark shapes (B64 T50 H256, B64 T100 H512). The GPU's include the size of
# the H100 peer timings in docs/design.md.
GEMM_SHAPES = {
    "cpu": [
        (2048, 2048, 2048),
        (1024, 1024, 1024),
        (3200, 1024, 256),
        (6400, 2048, 512),
        (64, 1024, 256),
        (64, 2048, 512),
    ],
    "cuda": [(8192, 8192, 8192), (4096, 4096, 4096), (6400, 2048, 512), (12800, 4096, 1024)],
}
# torch.nn.LSTM candidate: (B, T, H), one layer, E = H, forward without grad.
LSTM_SHAPE = {"cpu": (64, 50, 256), "cuda": (64, 100, 512)}
TIMING = dict(warmup=2, repeats=10)
# Two FMA pipes per core: every x86 core with AVX2 since Intel Haswell and AMD
# Zen 2 has them. An assumption, stated with the peak.
FMA_UNITS_PER_CORE = 2


def measure_ceilings(device, dtype_names):
    """{"copy": {bytes, gbps}, "gemm": {dtype name: {gflops, best, candidates}},
    "fma_peak": fma_peak()} for dtype names such as "float32"."""
    kind = torch.device(device).type
    copied_bytes, copy_ms = _copy(COPY_ELEMENTS[kind], device)
    copy = dict(bytes=copied_bytes, gbps=copied_bytes / copy_ms / 1e6)
    gemm = {}
    for name in dtype_names:
        dtype = getattr(torch, name)
        candidates = {
            f"{m}x{n}x{k} matmul": 2 * m * n * k / _matmul_ms(m, n, k, dtype, device) / 1e6
            for m, n, k in GEMM_SHAPES[kind]
        }
        candidates["torch.nn.LSTM B={} T={} H={}".format(*LSTM_SHAPE[kind])] = _lstm_gflops(
            *LSTM_SHAPE[kind], dtype, device
        )
        best = max(candidates, key=candidates.get)
        gemm[name] = dict(gflops=candidates[best], best=best, candidates=candidates)
    return dict(copy=copy, gemm=gemm, fma_peak=fma_peak() if kind == "cpu" else None)


def fma_peak():
    """The CPU's theoretical float32 peak for the threads torch uses: threads x
    FMA units x 2 FLOPs x float32 lanes of the widest vector x clock, with the
    facts it comes from; None where /proc/cpuinfo does not tell them."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            text = cpuinfo.read()
    except OSError:
        return None
    flags = set(re.search(r"^flags\s*:(.*)$", text, re.M).group(1).split())
    clock = re.search(r"^cpu MHz\s*:\s*([\d.]+)", text, re.M)
    if "fma" not in flags or clock is None:
        return None
    lanes = 16 if "avx512f" in flags else 8
    threads = torch.get_num_threads()
    ghz = float(clock.group(1)) / 1000
    return dict(
        gflops=threads * FMA_UNITS_PER_CORE * 2 * lanes * ghz,
        threads=threads,
        fma_units_per_core=FMA_UNITS_PER_CORE,
        float32_lanes=lanes,
        ghz=ghz,
        cores_online=os.cpu_count(),
    )


def higher_of(before, after):
    """Two measurements of the ceilings merged: each rate the higher of the
    two, both kept (as gbps_before_cases, gbps_after_cases, ...)."""

    def merge(first, second, rate):
        return {
            **(first if first[rate] >= second[rate] else second),
            rate: max(first[rate], second[rate]),
            f"{rate}_before_cases": first[rate],
            f"{rate}_after_cases": second[rate],
        }

    return dict(
        copy=merge(before["copy"], after["copy"], "gbps"),
        gemm={
            dtype: merge(gemm, after["gemm"][dtype], "gflops")
            for dtype, gemm in before["gemm"].items()
        },
        fma_peak=before["fma_peak"],
    )


def ceiling_fields(flops, bytes_, dtype_name, median_ms, ceilings):
    """A timed call's achieved rates, and its fraction of the device's ceiling:
    the bigger of GFLOP/s / GEMM ceiling and GB/s / copy bandwidth, and which
    bound that is (it depends on the case's FLOPs per byte, not on its time)."""
    gflops, gbps = flops / median_ms / 1e6, bytes_ / median_ms / 1e6
    of_compute = gflops / ceilings["gemm"][dtype_name]["gflops"]
    of_memory = gbps / ceilings["copy"]["gbps"]
    return dict(
        gflops=gflops,
        gbps=gbps,
        fraction_of_ceiling=max(of_compute, of_memory),
        bound="compute" if of_compute >= of_memory else "memory",
    )


def _copy(elements, device):
    """(bytes read and written, fastest ms) of copying a float32 tensor."""
    source = torch.randn(elements, device=device)
    target = torch.empty_like(source)
    return 2 * source.nbytes, _fastest_ms(lambda: target.copy_(source), device)


def _matmul_ms(m, n, k, dtype, device):
    a = torch.randn(m, k, device=device).to(dtype)
    b = torch.randn(k, n, device=device).to(dtype)
    return _fastest_ms(lambda: a @ b, device)


def _lstm_gflops(batch, steps, hidden, dtype, device):
    lstm = torch.nn.LSTM(hidden, hidden, device=device, dtype=dtype)
    x = torch.randn(steps, batch, hidden, device=device, dtype=dtype)

    def forward():
        with torch.no_grad():
            return lstm(x)

    flops = recurrent_costs(LSTM, batch, steps, hidden, hidden, dtype, "fwd")["flops"]
    return flops / _fastest_ms(forward, device) / 1e6


def _fastest_ms(fn, device):
    return measure_interleaved({"ceiling": fn}, device, **TIMING)["ceiling"]["min_ms"]
