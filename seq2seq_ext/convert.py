"""Using the fused modules in an existing model: ``convert`` swaps torch.nn's
recurrent modules for this package's (or back), and ``compile`` is
``torch.compile`` for a model that contains them.

A Fused module is an instance of the torch.nn class it replaces, with no state
of its own: converting a module changes only its class, in place, so it keeps
its parameters (the very objects: an optimizer made before keeps working), its
device, dtype, training mode and hooks."""

import warnings

import torch
from torch import nn

from .nn import FusedGRU, FusedGRUCell, FusedLSTM, FusedLSTMCell, FusedRNN, FusedRNNCell

# torch.nn's class -> ours
FUSED = {
    nn.LSTM: FusedLSTM,
    nn.GRU: FusedGRU,
    nn.RNN: FusedRNN,
    nn.LSTMCell: FusedLSTMCell,
    nn.GRUCell: FusedGRUCell,
    nn.RNNCell: FusedRNNCell,
}
TARGETS = ("fused", "torch")


def convert(module: nn.Module, to: str = "fused") -> nn.Module:
    """Swaps, in place, every torch.nn LSTM, GRU, RNN and cell inside `module`
    (at any depth; `module` itself too) for its Fused twin, or with
    ``to="torch"`` every Fused module for its torch.nn twin; returns `module`.

    A subclass of one of these classes (a toolkit's own LSTM with its own
    forward, or one that torch.nn.utils.parametrize has wrapped) stays as it is,
    with a warning naming it: swapping its class would drop its code."""
    if to not in TARGETS:
        raise ValueError(f"convert: to must be one of {TARGETS}, got {to!r}")
    swaps = FUSED if to == "fused" else {fused: torch_class for torch_class, fused in FUSED.items()}
    kept = tuple(swaps.values())  # already what was asked for
    for name, sub in module.named_modules():
        if type(sub) in swaps:
            sub.__class__ = swaps[type(sub)]
        elif isinstance(sub, tuple(swaps)) and not isinstance(sub, kept):
            warnings.warn(
                f"seq2seq_ext.convert: {name or 'the module'} ({type(sub).__qualname__}) is a "
                f"subclass of {_base_in(sub, swaps).__name__} with code of its own, left as it is",
                stacklevel=2,
            )
    return module


def _base_in(module, classes):
    return next(cls for cls in classes if isinstance(module, cls))


def compile(model, **kwargs):
    """``torch.compile(model, **kwargs)`` for a model with Fused recurrent
    modules; it takes torch.compile's arguments (``fullgraph=True``,
    ``mode="reduce-overhead"``, ...).

    Dynamo declines to trace instances of torch.nn's RNN, GRU and LSTM (and so
    ours) unless ``torch._dynamo.config.allow_rnn`` is set; setting it for the
    whole process would make it trace torch.nn's own RNNs too, which fails on
    some devices. So this sets it only while the compiled model runs (Dynamo
    traces on a call), and restores it after. Convert the model first
    (``convert``), so that every RNN in it is one of ours."""
    compiled = torch.compile(model, **kwargs)
    run = compiled.forward if isinstance(compiled, nn.Module) else compiled

    def run_with_rnns_traced(*args, **kw):
        with torch._dynamo.config.patch(allow_rnn=True):
            return run(*args, **kw)

    if isinstance(compiled, nn.Module):
        compiled.forward = run_with_rnns_traced
        return compiled
    return run_with_rnns_traced
