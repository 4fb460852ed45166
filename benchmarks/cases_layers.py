"""Whole-layer cases: FusedLSTM / FusedGRU / FusedRNN against torch.nn.LSTM / GRU /
RNN (oneDNN's fused LSTM on the CPU, cuDNN on the GPU), the nn.LSTMCell / GRUCell
/ RNNCell Python loop over time,
torch.compile of that loop (on CUDA also with mode="reduce-overhead"), on
CUDA where it is installed, FlashRNN, and on the CPU, for inference,
ONNX Runtime running the torch.nn layer and the Fused one, each exported with
torch.onnx.export (peers.py; both become the same ONNX node); at the shapes of
the H100 reference points in docs/design.md (one layer, one direction, E = H):
forward without grad (inference), forward with autograd recording (a training
step's forward) and forward+backward."""

from functools import partial

import torch
from torch import nn

from seq2seq_ext import FusedGRU, FusedLSTM, FusedRNN
from seq2seq_ext.cell_types import GRU, LSTM, RNN_TANH

from .calls import timed_call
from .costs import recurrent_costs
from .flashrnn_peer import flashrnn_peers
from .peers import ONNXRUNTIME_OURS, ONNXRUNTIME_TORCH, compiled_peers, onnxruntime_peers

SUITE = "layers"
# label: (cell type, fused module, torch.nn layer, torch.nn cell)
LAYERS = {
    "LSTM": (LSTM, FusedLSTM, nn.LSTM, nn.LSTMCell),
    "GRU": (GRU, FusedGRU, nn.GRU, nn.GRUCell),
    "RNN": (RNN_TANH, FusedRNN, nn.RNN, nn.RNNCell),
}
MODES = ("fwd", "fwd (autograd)", "fwd+bwd")
# (B, T, H) of the H100 reference points. The two largest take seconds per call
# on a small CPU; quick runs keep the first.
SHAPES = [(64, 50, 256), (1, 100, 512), (64, 100, 512), (128, 100, 1024)]
CPU_SHAPES = SHAPES[:3]
TIMING = {"quick": dict(warmup=2, repeats=5), "full": dict(warmup=2, repeats=7)}


def cases(device, quick):
    """Yields (params, make_impls), as benchmarks.run expects."""
    on_gpu = torch.device(device).type == "cuda"
    shapes = SHAPES if on_gpu else CPU_SHAPES
    dtypes = [torch.float32, torch.bfloat16] if on_gpu else [torch.float32]
    for dtype in dtypes:
        for batch, steps, hidden in shapes[:1] if quick else shapes:
            for layer in LAYERS:
                for mode in MODES:
                    params = dict(
                        label=layer,
                        shape=f"B={batch} T={steps} E=H={hidden}",
                        layer=layer,
                        mode=mode,
                        B=batch,
                        T=steps,
                        H=hidden,
                        dtype=str(dtype).removeprefix("torch."),
                        # The layer writes one state per step: h, its output.
                        **recurrent_costs(
                            LAYERS[layer][0], batch, steps, hidden, hidden, dtype, mode, 1
                        ),
                    )
                    yield (
                        params,
                        partial(_make_impls, layer, batch, steps, hidden, mode, dtype, device),
                    )


def _make_impls(layer, batch, steps, hidden, mode, dtype, device):
    cell_type, fused_class, torch_class, cell_class = LAYERS[layer]
    reference = torch_class(hidden, hidden, device=device, dtype=dtype)
    fused = fused_class(hidden, hidden, device=device, dtype=dtype)
    fused.load_state_dict(reference.state_dict())
    cell = cell_class(hidden, hidden, device=device, dtype=dtype)
    cell.load_state_dict({k.removesuffix("_l0"): v for k, v in reference.state_dict().items()})
    x = torch.randn(steps, batch, hidden, device=device, dtype=dtype, requires_grad=mode != "fwd")
    loop = partial(_cell_loop, cell)
    runs = {  # name: (its weights, the call)
        "fused": (fused.parameters(), lambda: fused(x)[0]),
        "torch.nn": (reference.parameters(), lambda: reference(x)[0]),
        "cell loop": (cell.parameters(), lambda: loop(x)),
    }
    for name, compiled_loop in compiled_peers("compiled cell loop", loop, device).items():
        runs[name] = (cell.parameters(), partial(compiled_loop, x))
    for name, (weights, run) in flashrnn_peers(cell_type.name, reference, dtype, device).items():
        runs[name] = (weights, partial(run, x))
    impls = {name: timed_call(mode, run, [*weights, x]) for name, (weights, run) in runs.items()}
    exported = {ONNXRUNTIME_TORCH: reference, ONNXRUNTIME_OURS: fused}
    for name, run in onnxruntime_peers(exported, (x,), device, mode).items():
        impls[name] = timed_call(mode, run)
    return impls


def _cell_loop(cell, x):
    """The eager way to run a cell over time: one Python iteration per step."""
    state, outputs = None, []
    for x_t in x:
        state = cell(x_t, state)
        outputs.append(state[0] if isinstance(state, tuple) else state)
    return torch.stack(outputs)
