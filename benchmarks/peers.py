"""torch.compile peers of a case: what a user gets by compiling the eager code."""

import torch


def compiled_peers(name, fn, device):
    """{name: torch.compile(fn)} in the default mode, and on CUDA also
    {name + ", reduce-overhead": fn compiled with mode="reduce-overhead"}, which
    replays CUDA graphs and so saves the launch of each kernel."""
    peers = {name: torch.compile(fn)}
    if torch.device(device).type == "cuda":
        graphed = torch.compile(fn, mode="reduce-overhead")

        def run_graphed(*args):
            # Each call is a new step: its graphs may reuse the memory of the
            # previous call's outputs, which no timed call reads again.
            torch.compiler.cudagraph_mark_step_begin()
            return graphed(*args)

        peers[f"{name}, reduce-overhead"] = run_graphed
    return peers
