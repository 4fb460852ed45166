"""Timing callables, and describing the device they ran on.

CPU: ``time.perf_counter`` around each call. CUDA: a pair of CUDA events
around each call (after warm-up and a synchronize), synchronised after it, so
the time is the GPU's, launch gaps included. Both report the median and the
20th/80th percentiles.
"""
import platform
import re
import statistics
import subprocess
import time

import torch

MIN_CUDA_REPEATS = 20  # DESIGN.md: GPU timings are the median of at least 20 runs


def measure_interleaved(fns, device, warmup, repeats):
    """Calls each of ``{name: fn}`` ``warmup`` times, then times ``repeats`` calls
    of each, in turn, one call each per round, so that a change in the machine's
    load during the run (another process, clock changes) falls on all alike.
    Returns {name: dict(median_ms, p20_ms, p80_ms, n)}."""
    device = torch.device(device)
    if device.type == "cuda":
        time_call, repeats = _cuda_call_ms, max(repeats, MIN_CUDA_REPEATS)
    else:
        time_call = _cpu_call_ms
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    times_ms = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            times_ms[name].append(time_call(fn))
    return {name: _summary(times) for name, times in times_ms.items()}


def _summary(times_ms):
    p20, _, _, p80 = statistics.quantiles(times_ms, n=5, method="inclusive")
    return dict(median_ms=statistics.median(times_ms), p20_ms=p20, p80_ms=p80, n=len(times_ms))


def _cpu_call_ms(fn):
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3


def _cuda_call_ms(fn):
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    start.record()
    fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end)


def device_description(device):
    """What the results were measured on: a dict with at least ``type``,
    ``name`` and ``slug`` (filesystem-safe, used to name the results files)."""
    device = torch.device(device)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        name = torch.cuda.get_device_name(index)
        major, minor = torch.cuda.get_device_capability(index)
        return dict(type="cuda", name=name, slug=f"cuda-{_slugify(name)}",
                    capability=f"{major}.{minor}", driver=_nvidia_driver_version(),
                    cuda_runtime=torch.version.cuda)
    name = _cpu_model_name()
    threads = torch.get_num_threads()
    return dict(type="cpu", name=name, slug=f"cpu-{_slugify(name)}-{threads}t",
                threads=threads, machine=platform.machine())


def _cpu_model_name():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _nvidia_driver_version():
    try:
        result = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.splitlines()[0].strip() if result.stdout else None


def _slugify(text):
    """'Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz' -> 'intel-xeon-platinum-8481c'."""
    text = re.sub(r"\((r|tm)\)", "", text.lower())
    text = re.sub(r"\bcpu\b.*$", "", text)  # drop 'CPU @ 2.70GHz' and what follows
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "unknown"
