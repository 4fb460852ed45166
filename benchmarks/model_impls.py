"""The implementations the models suite (benchmarks/cases_models.py) times, each
case's ``make_impls``: the Seq2Seq model on this package's kernels ("fused")
and its peers, the same model, weights and all, on torch.nn's layers
(backend "torch"), torch.compile of the fused model (and, for decoding, of the
torch.nn one), the fused model with its loop in Python (``loop="python"``),
quantize_dynamic of the torch.nn model,
for a for_inference copy the float32 fused model it copies, and for the
encoder, ONNX Runtime (peers.py).
"""

import copy
import dataclasses
from functools import partial

import torch
from torch import nn

from seq2seq_ext.models import Seq2Seq
from seq2seq_ext.nmt.data import EOS_INDEX
from seq2seq_ext.nmt.trainer import adam, batch_loss

from . import OURS
from .calls import timed_call
from .peers import ONNXRUNTIME_OURS, ONNXRUNTIME_TORCH, compiled_peers, onnxruntime_peers

COMPILED = f"torch.compile({OURS})"
COMPILED_TORCH = "torch.compile(torch.nn)"
QUANTIZED = "quantize_dynamic(torch.nn)"
FLOAT32_WEIGHTS = f"{OURS}, float32 weights"  # for_inference copies' peer: the model they copy
PYTHON_LOOP = f"{OURS}, Python loop"
LEARNING_RATE = 3e-3  # python -m seq2seq_ext train's default, as the example uses
CLIP = 1.0


def _build(config, device, backend=OURS, weights=None):
    model = Seq2Seq(dataclasses.replace(config, backend=backend)).to(device)
    if weights is not None:
        model.load_state_dict(weights)
    return model


def _models(config, device):
    """{"fused": a model, "torch.nn": the same model, weights and all, on torch.nn}."""
    torch.manual_seed(0)
    fused = _build(config, device)
    return {OURS: fused, "torch.nn": _build(config, device, "torch", fused.state_dict())}


def _runs(models, make_fn, device):
    """{name: (fn, the model it runs)}: make_fn(model) for each model, and the
    torch.compile peers of make_fn(fused model)."""
    runs = {name: (make_fn(model), model) for name, model in models.items()}
    for name, compiled in compiled_peers(COMPILED, make_fn(models[OURS]), device).items():
        runs[name] = (compiled, models[OURS])
    return runs


def encoder_impls(config, batch, device):
    """The encoder on each backend, torch.compile of the fused one, and in
    onnxruntime the fused model's encoder as seq2seq_ext.onnx exports it and
    the torch.nn one over the padded batch (PaddedEncoder)."""
    models = _models(config, device)
    batch = batch.to(device)
    runs = _runs(models, lambda model: model.encoder, device)
    impls = _timed(runs, (batch.src, batch.src_lengths), "fwd")
    exported = {
        ONNXRUNTIME_TORCH: (PaddedEncoder(models["torch.nn"].encoder), (batch.src,)),
        ONNXRUNTIME_OURS: (models[OURS].encoder, (batch.src, batch.src_lengths)),
    }
    for name, (module, args) in exported.items():
        for peer, run in onnxruntime_peers({name: module}, args, device, "fwd").items():
            impls[peer] = timed_call("fwd", run)
    return impls


class PaddedEncoder(nn.Module):
    """An Encoder as a torch.nn user exports it to ONNX: its layers over the
    padded batch, since torch.export cannot trace pack_padded_sequence. The
    Encoder's own result where every sentence is full length."""

    def __init__(self, encoder) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, src):
        encoder = self.encoder
        outputs, state = encoder.rnn(encoder.dropout(encoder.embedding(src)))
        if encoder.config.cell == "lstm":
            h, c = state
            return outputs, (
                encoder._bridge(h, "bridge_h", torch.tanh),
                encoder._bridge(c, "bridge_c"),
            )
        return outputs, encoder._bridge(state, "bridge_h", torch.tanh)


def step_impls(config, batch, mode, device):
    models = _models(config, device)
    batch = batch.to(device)
    with torch.no_grad():
        memory, state = models[OURS].encode(batch.src, batch.src_lengths)
    # With the backward, gradients flow into the memory and the state too, as in training.
    leaves = [memory.values, memory.keys_proj, *(state if isinstance(state, tuple) else [state])]
    for leaf in leaves:
        leaf.requires_grad_(mode == "fwd+bwd")
    runs = _runs(models, lambda model: partial(_decoder_step, model.decoder), device)
    return _timed(runs, (batch.tgt[:, 0], state, memory), mode, leaves)


def _decoder_step(decoder, token, state, memory):
    """The logits of one decoder step."""
    return decoder.step(token, state, memory)[0]


def pass_impls(config, batch, mode, device):
    batch = batch.to(device)
    runs = _runs(_models(config, device), lambda model: model, device)
    return _timed(runs, (batch.src, batch.src_lengths, batch.tgt), mode)


def _timed(runs, args, mode, leaves=()):
    """{name: the call to time} of runs {name: (fn returning logits, its model)};
    with the backward, gradients flow into the model and `leaves`."""
    return {
        name: timed_call(mode, partial(fn, *args), [*model.parameters(), *leaves])
        for name, (fn, model) in runs.items()
    }


def training_impls(config, batch, device):
    """Each implementation trains its own copy of the model, with its own Adam.
    With input feeding, the fused model's Python loop over the decoder's steps
    is one more peer of its C++ loop (the op decoder_stepwise_pass)."""
    models = _models(config, device)
    batch = batch.to(device)
    steps = {
        name: partial(_training_step, model, model, _adam(model), batch)
        for name, model in models.items()
    }
    if config.input_feeding:
        looped = _build(config, device, weights=models[OURS].state_dict())
        forward = partial(looped, loop="python")
        steps[PYTHON_LOOP] = partial(_training_step, forward, looped, _adam(looped), batch)
    compiled_model = _build(config, device, weights=models[OURS].state_dict())
    optimizer = _adam(compiled_model)
    for name, forward in compiled_peers(COMPILED, compiled_model, device).items():
        steps[name] = partial(_training_step, forward, compiled_model, optimizer, batch)
    return steps


def _adam(model):
    return adam(model, LEARNING_RATE)


def _training_step(forward, model, optimizer, batch):
    """What seq2seq_ext.nmt.trainer.Trainer does with a batch (float32, teacher forcing)."""
    loss, count = batch_loss(forward, model, batch)
    (loss / count).backward()
    nn.utils.clip_grad_norm_(model.parameters(), CLIP)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)  # each call starts with no gradients allocated


def decode_impls(config, batch, beam, device):
    models = _models(config, device)
    for model in models.values():
        _never_end(model)
    batch = batch.to(device)
    runs = _runs(models, lambda model: partial(_decode, model, beam), device)
    # torch.compile of the torch.nn model's search too: compiling the fused one
    # leaves its decoding op as it is (one opaque call), the torch.nn one's loop
    # is what the compiler can speed up.
    torch_model = models["torch.nn"]
    for name, compiled in compiled_peers(
        COMPILED_TORCH, partial(_decode, torch_model, beam), device
    ).items():
        runs[name] = (compiled, torch_model)
    runs[PYTHON_LOOP] = (partial(_decode, models[OURS], beam, loop="python"), models[OURS])
    if batch.src.shape[0] == 1 and torch.device(device).type == "cpu":
        quantized = _quantized(models["torch.nn"])
        runs[QUANTIZED] = (partial(_decode, quantized, beam), quantized)
    return _timed(runs, (batch.src, batch.src_lengths, batch.tgt.shape[1] - 1), "fwd")


def reduced_decode_impls(config, batch, beam, weights, device):
    """Ours: the fused model's for_inference(weights) copy; peers: the model
    itself (float32), on torch.nn, and quantize_dynamic of that."""
    models = _models(config, device)
    for model in models.values():
        _never_end(model)
    reduced = models[OURS].for_inference(weights)
    quantized = _quantized(models["torch.nn"])
    runs = {
        OURS: (partial(_decode, reduced, beam), reduced),
        FLOAT32_WEIGHTS: (partial(_decode, models[OURS], beam), models[OURS]),
        "torch.nn": (partial(_decode, models["torch.nn"], beam), models["torch.nn"]),
        QUANTIZED: (partial(_decode, quantized, beam), quantized),
    }
    return _timed(runs, (batch.src, batch.src_lengths, batch.tgt.shape[1] - 1), "fwd")


def _quantized(model):
    """`model` (backend "torch") with int8 weights in its Linear, GRU and LSTM
    layers, activations quantized on the fly (a copy: `model` is unchanged)."""
    return torch.ao.quantization.quantize_dynamic(
        copy.deepcopy(model), {nn.Linear, nn.GRU, nn.LSTM}, dtype=torch.qint8
    )


def _never_end(model):
    """Makes <eos> never a likely token, so that every decode of random weights
    runs its max_len steps (T: as many as a trained model's for the longest
    sentence of the batch)."""
    with torch.no_grad():
        model.decoder.output.bias[EOS_INDEX] = float("-inf")


def _decode(model, beam, src, src_lengths, max_len, loop="auto"):
    if beam == 1:
        return model.greedy_decode(src, src_lengths, max_len, loop=loop)
    return model.beam_search(src, src_lengths, beam, max_len, loop=loop)
