"""How a case calls an implementation in each mode:

- "fwd": forward only, under ``torch.no_grad`` (as inference runs);
- "fwd (autograd)": forward only, recording the graph a backward would use (as
  a training step's forward runs; the graph is freed with the outputs);
- "fwd+bwd": forward, then ``.backward()`` of the sum of every tensor it
  returned; then the gradients of the leaves are freed, as
  ``optimizer.zero_grad(set_to_none=True)`` after a step frees them, so that
  each call computes fresh gradients and starts with none allocated.
"""

from functools import partial

import torch

from .timing import runs_alone


def timed_call(mode: str, run, leaves=()):
    """The call benchmarks.timing times: `run` (no arguments) in `mode`;
    `leaves`, the tensors whose gradients fwd+bwd frees (parameters, inputs).
    A run marked runs_alone stays marked."""
    if mode == "fwd":
        call = partial(_forward, run)
    elif mode == "fwd (autograd)":
        call = run
    else:
        call = partial(_forward_backward, run, list(leaves))
    return runs_alone(call) if getattr(run, "runs_alone", False) else call


def _forward(run):
    with torch.no_grad():
        return run()


def _forward_backward(run, leaves):
    sum(t.sum() for t in _tensors(run())).backward()
    for leaf in leaves:
        leaf.grad = None


def _tensors(outputs):
    """The tensors in what an implementation returned (a tensor, or nested
    tuples and lists of them)."""
    if isinstance(outputs, torch.Tensor):
        return [outputs]
    return [t for output in outputs for t in _tensors(output)]
