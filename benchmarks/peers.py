"""torch.compile peers of a case: what a user gets by compiling the eager code,
through seq2seq_ext.compile (torch.compile, with Dynamo let into the Fused
recurrent modules, which are instances of torch.nn's)."""

import torch

import seq2seq_ext


def compiled_peers(name, fn, device):
    """{name: compiled fn} in the default mode, and on CUDA also
    {name + ", reduce-overhead": fn compiled with mode="reduce-overhead"}, which
    replays CUDA graphs and so saves the launch of each kernel."""
    peers = {name: seq2seq_ext.compile(fn)}
    if torch.device(device).type == "cuda":
        graphed = seq2seq_ext.compile(fn, mode="reduce-overhead")

        def run_graphed(*args):
            # Each call is a new step: its graphs may reuse the memory of the
            # previous call's outputs, which no timed call reads again.
            torch.compiler.cudagraph_mark_step_begin()
            return graphed(*args)

        peers[f"{name}, reduce-overhead"] = run_graphed
    return peers
