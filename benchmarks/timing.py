"""Timing callables, and the memory one call of them takes.

CPU: ``time.perf_counter`` around each call. CUDA: a pair of CUDA events
around each call (after warm-up and a synchronize), synchronised after it, so
the time is the GPU's, launch gaps included. Both report the median, the
20th/80th percentiles and the fastest call.
"""

import statistics
import time

import torch
from torch.profiler import ProfilerActivity, profile

MIN_CUDA_REPEATS = 20  # docs/design.md: GPU timings are the median of at least 20 runs
PEAK_MEMORY_METHOD = {  # how peak_memory_mib measures, for the results' header
    "cuda": "torch.cuda.max_memory_allocated() during one call, after reset_peak_memory_stats(), "
    "less what was allocated when it began (a CUDA graph's memory pool, allocated when "
    "the graph is captured, is not counted in its replays)",
    "cpu": "the running sum of the allocations and frees that torch's CPU allocator reports to "
    "torch.profiler (profile_memory=True) during one call; memory allocated outside "
    "torch's allocator is not seen",
}


def runs_alone(fn):
    """Marks fn to be timed in a block of its own (measure_interleaved): for a
    peer whose threads keep the cores busy after it returns. onnxruntime's
    spin for a while after each run (its default, session.intra_op.allow_spinning;
    measured on a 2-core Xeon: a fused LSTM call right after an onnxruntime run
    took 2.5x its time, and still 1.2x 100 ms later), which would slow whatever
    is timed next, while its own consecutive calls gain from it, as a server
    calling it in a loop does."""
    fn.runs_alone = True
    return fn


def measure_interleaved(fns, device, warmup, repeats):
    """Calls each of ``{name: fn}`` ``warmup`` times, then times ``repeats`` calls
    of each, in turn, one call each per round, so that a change in the machine's
    load during the run (another process, clock changes) falls on all alike;
    then one more call each for its peak memory. A fn marked runs_alone is
    timed after those, in a block of its own calls.
    Returns {name: dict(median_ms, p20_ms, p80_ms, min_ms, n, peak_memory_mib)}, or
    {name: dict(error=...)} for a fn that raised: it is reported, not dropped."""
    together = {name: fn for name, fn in fns.items() if not getattr(fn, "runs_alone", False)}
    results = _measure_rounds(together, device, warmup, repeats)
    for name in fns.keys() - together.keys():
        results.update(_measure_rounds({name: fns[name]}, device, warmup, repeats))
    return {name: results[name] for name in fns}


def _measure_rounds(fns, device, warmup, repeats):
    """measure_interleaved for fns all timed in the same rounds."""
    device = torch.device(device)
    if device.type == "cuda":
        time_call, repeats = _cuda_call_ms, max(repeats, MIN_CUDA_REPEATS)
    else:
        time_call = _cpu_call_ms
    running, failures = dict(fns), {}

    def call_each(call):
        """Yields (name, call(fn)) for each fn still running; one that raises is
        recorded in failures and called no more."""
        for name, fn in list(running.items()):
            try:
                yield name, call(fn)
            except Exception as error:  # noqa: BLE001 - a peer's failure is a result too
                failures[name] = dict(error=f"{type(error).__name__}: {error}"[:500])
                del running[name]

    for _ in range(warmup):
        for _ in call_each(lambda fn: fn()):
            pass
    if device.type == "cuda":
        torch.cuda.synchronize()
    times_ms = {name: [] for name in fns}
    for _ in range(repeats):
        for name, ms in call_each(time_call):
            times_ms[name].append(ms)
    results = {name: _summary(times_ms[name]) for name in running}
    for name, mebibytes in call_each(lambda fn: peak_memory_mib(fn, device)):
        results[name]["peak_memory_mib"] = mebibytes
    return {name: failures[name] if name in failures else results[name] for name in fns}


def peak_memory_mib(fn, device):
    """The most memory one call of fn holds at once beyond what was allocated
    when it began (activations, workspaces, gradients, outputs), in MiB, as
    PEAK_MEMORY_METHOD describes."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        start = torch.cuda.memory_allocated()
        fn()
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - start) / 2**20
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = [
        event
        for event in prof.profiler.kineto_results.events()
        if event.name() == "[memory]" and event.device_type() == torch.autograd.DeviceType.CPU
    ]
    held = peak = 0
    for event in sorted(events, key=lambda event: event.start_ns()):
        held += event.nbytes()  # negative for a free
        peak = max(peak, held)
    return peak / 2**20


def _summary(times_ms):
    p20, _, _, p80 = statistics.quantiles(times_ms, n=5, method="inclusive")
    return dict(
        median_ms=statistics.median(times_ms),
        p20_ms=p20,
        p80_ms=p80,
        min_ms=min(times_ms),
        n=len(times_ms),
    )


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
