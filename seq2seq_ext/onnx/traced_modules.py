"""What the Fused modules run inside torch.onnx.export (fused_vf.py calls
these where ``exporting_to_onnx()``): instead of this package's ops, which no
ONNX runtime has, computations the exporters write as standard ONNX.

- The dynamo exporter (the default): each recurrent layer as an ONNX LSTM / GRU
  / RNN node (recurrent.py); the cells, attention and masked softmax run
  ``seq2seq_ext.reference`` (functional.py), plain torch ops that it writes as
  plain ONNX ops (Gemm/MatMul, Sigmoid, Tanh, Softmax-like Exp/ReduceSum, Where).
- The legacy exporter (dynamo=False): the stacks call torch._VF, torch.nn's own
  functions, which it translates to ONNX LSTM / GRU / RNN as it does for
  torch.nn; the rest as above. It cannot trace sequences of given lengths.
"""

import torch

from .recurrent import recurrent_stack
from .tracing import SUPPORTED_ROUTE, legacy_exporter


class UnsupportedExport(ValueError):
    """A model, or a combination of its options, that this package cannot
    export to ONNX; the message names it and what to do instead."""


def stack(cell, args, packed: bool):
    """fused_vf's stack (torch._VF's arguments, see fused_vf._stack) under export."""
    if legacy_exporter():
        return getattr(torch._VF, cell)(*args)
    _check_symbolic_ops()
    if packed:
        raise UnsupportedExport(
            "ONNX export of a recurrent layer over a PackedSequence is not supported: "
            "torch.export cannot trace pack_padded_sequence (for torch.nn's layers neither). "
            "Pass the padded batch and its lengths to "
            "seq2seq_ext.nn.fused_vf.run_with_lengths(module, padded, lengths), which exports "
            "the lengths as the ONNX nodes' sequence_lens"
        )
    input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first = args
    time_major = input.transpose(0, 1) if batch_first else input
    states = list(hx) if cell == "lstm" else [hx]
    output, finals = recurrent_stack(
        cell, time_major, states, params, has_biases, num_layers, dropout, train, bidirectional
    )
    return (output.transpose(0, 1) if batch_first else output, *finals)


def with_lengths(module, cell, input, lengths):
    """fused_vf.run_with_lengths under export: the stack from zero states over
    the padded input, its lengths as sequence_lens. -> (output, final states)."""
    if legacy_exporter():
        raise UnsupportedExport(
            "the legacy ONNX exporter (torch.onnx.export(..., dynamo=False)) cannot export a "
            "recurrent layer over sequences of given lengths (a Seq2Seq encoder's source): "
            f"use {SUPPORTED_ROUTE}"
        )
    _check_symbolic_ops()
    x = input.transpose(0, 1) if module.batch_first else input
    layers = module.num_layers * (2 if module.bidirectional else 1)
    h0 = x.new_zeros(layers, x.shape[1], module.proj_size or module.hidden_size)
    states = [h0, x.new_zeros(layers, x.shape[1], module.hidden_size)] if cell == "lstm" else [h0]
    # Its parameters by name: module._flat_weights, refreshed by the module's
    # own forward only, still holds the real tensors where export traces fake ones.
    params = [getattr(module, name) for name in module._flat_weights_names]
    output, finals = recurrent_stack(
        cell,
        x,
        states,
        params,
        module.bias,
        module.num_layers,
        module.dropout,
        module.training,
        module.bidirectional,
        lengths=lengths,
    )
    output = output.transpose(0, 1) if module.batch_first else output
    return output, (tuple(finals) if cell == "lstm" else finals[0])


def _check_symbolic_ops() -> None:
    if not hasattr(torch.onnx, "ops"):  # torch.onnx.ops.symbolic_multi_out: torch 2.8
        raise UnsupportedExport(
            f"ONNX export of the recurrent layers needs torch >= 2.8 (torch.onnx.ops); "
            f"this is torch {torch.__version__}"
        )
