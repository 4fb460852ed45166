"""The device's limits, measured in the same run as the cases, and a case's
fraction of them.

Copy bandwidth: a large tensor copy, the bytes read and written / time. GEMM
peak: a large square matmul in the case's dtype, 2*n^3 / time (float32 with TF32
off on CUDA, as benchmarks.run sets). A limit is what the device can do, so each
rate is that of the fastest call, and benchmarks.run measures them before and
after the cases and keeps the higher: a moment when other processes load the
machine lowers a measurement, and would make the cases' fractions too high.
"""

import torch

from .timing import measure_interleaved

# (elements per tensor copied, n of the n x n GEMM): beyond the caches, and long
# enough to time; the GPU's are those the H100 peer timings in docs/design.md used.
SIZES = {"cpu": (1 << 26, 2048), "cuda": (1 << 28, 8192)}
TIMING = dict(warmup=2, repeats=10)


def measure_ceilings(device, dtype_names):
    """{"copy": {bytes, gbps}, "gemm": {dtype name: {n, gflops}}} for dtype
    names such as "float32"."""
    copy_elements, n = SIZES[torch.device(device).type]
    copied_bytes, copy_ms = _copy(copy_elements, device)
    copy = dict(bytes=copied_bytes, gbps=copied_bytes / copy_ms / 1e6)
    gemm = {
        name: dict(n=n, gflops=2 * n**3 / _matmul_ms(n, getattr(torch, name), device) / 1e6)
        for name in dtype_names
    }
    return dict(copy=copy, gemm=gemm)


def higher_of(before, after):
    """Two measurements of the ceilings merged: each rate the higher of the
    two, both kept (as gbps_before_cases, gbps_after_cases, ...)."""

    def merge(first, second, rate):
        return {
            **first,
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
    )


def ceiling_fields(flops, bytes_, dtype_name, median_ms, ceilings):
    """A timed call's achieved rates, and its fraction of the device's ceiling:
    the bigger of GFLOP/s / GEMM peak and GB/s / copy bandwidth, and which
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


def _matmul_ms(n, dtype, device):
    a, b = (torch.randn(n, n, device=device).to(dtype) for _ in range(2))
    return _fastest_ms(lambda: a @ b, device)


def _fastest_ms(fn, device):
    return measure_interleaved({"ceiling": fn}, device, **TIMING)["ceiling"]["min_ms"]
