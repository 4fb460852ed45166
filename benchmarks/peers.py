"""Peers a user would deploy instead of the eager code:

- torch.compile of it, through seq2seq_ext.compile (torch.compile, with Dynamo
  let into the Fused recurrent modules, which are instances of torch.nn's);
- on the CPU, ONNX Runtime: a module exported with torch's own exporter
  (``torch.onnx.export(module, args, dynamo=True)``) and run by an
  onnxruntime session with torch's thread count (intra-op threads =
  torch.get_num_threads(), one inter-op thread, sequential execution), its
  inputs handed over as numpy arrays once, before the timed calls, its other
  settings its defaults; timed in a block of its own (timing.runs_alone says
  why). ONNX Runtime runs inference only: no peer for a mode with autograd.
"""

import importlib
import warnings

import torch

import seq2seq_ext
from seq2seq_ext.onnx.tracing import ONNX_EXTRA

from . import OURS
from .timing import runs_alone

# The onnxruntime peers: the torch.nn module exported, and ours (the same
# standard ONNX ops: seq2seq_ext.onnx).
ONNXRUNTIME_TORCH = "onnxruntime(torch.nn)"
ONNXRUNTIME_OURS = f"onnxruntime({OURS})"


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


def onnxruntime_status(device="cpu") -> dict:
    """For the results: {"version": onnxruntime's} where its peers run, else
    {"skipped": why}."""
    if torch.device(device).type != "cpu":
        return {"skipped": "onnxruntime's peers run in CPU runs"}
    missing = [name for name in ONNX_EXTRA if not _imports(name)]
    if missing:
        return {
            "skipped": f"{', '.join(missing)} not installed (pip install "
            f"{' '.join(missing)}, or -r requirements-dev.txt)"
        }
    import onnxruntime

    return {"version": onnxruntime.__version__}


def _imports(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def onnxruntime_peers(modules: dict, args: tuple, device, mode: str) -> dict:
    """{peer name: fn running the module in onnxruntime} for {peer name:
    module} called with `args` (tensors); {} unless inference ("fwd") on the
    CPU with the onnx packages installed. A module that fails to export gives
    a fn that raises its error, so that its row says why."""
    if mode != "fwd" or "skipped" in onnxruntime_status(device):
        return {}
    return {name: _onnxruntime_call(module, args) for name, module in modules.items()}


def _onnxruntime_call(module, args):
    import onnxruntime

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(module.eval(), args, dynamo=True, verbose=False)
    except Exception as error:  # noqa: BLE001 - a peer's failure is a result too
        message = f"export failed: {type(error).__name__}: {str(error).splitlines()[0]}"

        def failed():
            raise RuntimeError(message)

        return failed
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    session = onnxruntime.InferenceSession(
        program.model_proto.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    names = [i.name for i in session.get_inputs()]
    feeds = dict(zip(names, (t.detach().numpy() for t in args)))
    return runs_alone(lambda: session.run(None, feeds))
