"""torch.onnx.export of models on the Fused modules, as a torch.nn user calls
it (issue 34): every recurrent layer one standard ONNX LSTM / GRU / RNN node,
the cells, attention and masked softmax plain ONNX ops, no custom domain; and
onnxruntime's outputs equal the modules' within 1e-5 (float32), at the
exported sizes and at others (batch and steps stay dynamic).

Each export holds one module of each kind, so that one export checks them all."""

import pytest
import torch
from onnx_helpers import (
    assert_runs_as,
    assert_standard_onnx_only,
    attributes,
    export,
    op_counts,
)
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seq2seq_ext import (
    BahdanauAttention,
    FusedGRU,
    FusedGRUCell,
    FusedLSTM,
    FusedLSTMCell,
    FusedRNN,
    FusedRNNCell,
    LuongAttention,
    functional,
)
from seq2seq_ext.nn.fused_vf import run_with_lengths
from seq2seq_ext.onnx import UnsupportedExport

I, H, P = 6, 10, 4  # input, hidden and projection sizes
RECURRENT_OPS = ("LSTM", "GRU", "RNN")
# Attribute values that ONNX's recurrent ops take by default (either export may spell them out).
ONNX_DEFAULTS = {("layout", 0), ("input_forget", 0)}


def make_layers(proj=False, **options):
    """A FusedLSTM, FusedGRU and FusedRNN of each nonlinearity with `options`;
    with proj, also a FusedLSTM with proj_size."""
    layers = [
        FusedLSTM(I, H, **options),
        FusedGRU(I, H, **options),
        FusedRNN(I, H, **options),
        FusedRNN(I, H, nonlinearity="relu", **options),
    ]
    if proj:
        layers.append(FusedLSTM(I, H, proj_size=P, **options))
    return nn.ModuleList(layers)


class Stacks(nn.Module):
    """Each layer on the same input x, with its own initial state if given;
    -> every layer's output and final states."""

    def __init__(self, layers) -> None:
        super().__init__()
        self.layers = layers

    def forward(self, x, states=None):
        outputs = []
        for layer, state in zip(self.layers, states or [None] * len(self.layers)):
            outputs.append(layer(x, state))
        return tuple(outputs)


class WithLengths(Stacks):
    """Each layer over padded sequences of given lengths (what the Seq2Seq
    encoder runs, run_with_lengths)."""

    def forward(self, x, lengths):
        return tuple(run_with_lengths(layer, x, lengths) for layer in self.layers)


def initial_states(layers, batch):
    states = []
    for layer in layers:
        count = layer.num_layers * (2 if layer.bidirectional else 1)
        h0 = torch.randn(count, batch, layer.proj_size or layer.hidden_size)
        states.append((h0, torch.randn(count, batch, H)) if layer.mode == "LSTM" else h0)
    return states


def dims(batch_first, *names):
    return {0: names[0], 1: names[1]} if batch_first else {0: names[1], 1: names[0]}


def assert_one_node_per_layer(model, num_layers, bidirectional):
    """A node per layer of each kind (make_layers'), both directions in one;
    the GRU as torch's (linear_before_reset); the RNNs with their activation."""
    counts = op_counts(model)
    assert (counts["LSTM"], counts["GRU"], counts["RNN"]) == (
        num_layers,
        num_layers,
        2 * num_layers,
    )
    activations = set()
    for node in model.graph.node:
        if node.op_type in RECURRENT_OPS:
            found = attributes(node)
            assert found["direction"] == (b"bidirectional" if bidirectional else b"forward")
            assert found["hidden_size"] == H
            if node.op_type == "GRU":
                assert found["linear_before_reset"] == 1
            if node.op_type == "RNN":
                activations.update(found["activations"])
    assert activations == {b"Tanh", b"Relu"}


# (options, initial states given): between them every option, each set and
# unset; the second has a projected LSTM too.
CONFIGS = {
    "1 layer, time-major, no h0": (dict(), False),
    "2 layers, bidirectional, batch_first, no biases, h0 given, proj_size": (
        dict(num_layers=2, bidirectional=True, batch_first=True, bias=False, proj=True),
        True,
    ),
}


@pytest.mark.parametrize("config", CONFIGS)
def test_layers_export_as_one_onnx_node_each_and_run_as_the_modules(config):
    """Each layer one ONNX node; the projected LSTM, which ONNX's LSTM cannot
    express (its recurrence multiplies R by the H-wide o * tanh(c), torch's
    W_hh by its P-wide projection), plain ops in one ONNX Scan per layer."""
    options, given_states = CONFIGS[config]
    batch_first = options.get("batch_first", False)
    layers = make_layers(**options).eval()
    module = Stacks(layers)
    x = torch.randn(3, 5, I) if batch_first else torch.randn(5, 3, I)
    dynamic_shapes = {"x": dims(batch_first, "batch", "steps")}
    states = ()
    if given_states:
        states = (tuple(initial_states(layers, 3)),)
        dynamic_shapes["states"] = tuple(
            ({1: "batch"}, {1: "batch"}) if layer.mode == "LSTM" else {1: "batch"}
            for layer in layers
        )
    model = export(module, (x, *states), dynamic_shapes=dynamic_shapes)
    assert_standard_onnx_only(model)
    layers_count = options.get("num_layers", 1)
    assert_one_node_per_layer(model, layers_count, options.get("bidirectional", False))
    assert op_counts(model).get("Scan", 0) == layers_count * options.get("proj", False)
    assert_runs_as(model, module, x, *states)
    # Other sizes through the same graph: the batch and the steps are dynamic.
    other = torch.randn(4, 7, I) if batch_first else torch.randn(7, 4, I)
    assert_runs_as(model, module, other, *[tuple(initial_states(layers, 4))] * len(states))


def test_lengths_export_as_sequence_lens_with_zeros_past_each_length():
    """Sequences of given lengths (the Seq2Seq encoder's source): each node
    takes them as sequence_lens; the reverse direction starts at each
    sequence's end, the final states are its last step's, the output past it
    zeros (the projected LSTM's Scan likewise)."""
    layers = make_layers(proj=True, num_layers=2, bidirectional=True, batch_first=True).eval()
    module = WithLengths(layers)
    x, lengths = torch.randn(3, 5, I), torch.tensor([5, 2, 4])
    model = export(module, (x, lengths), dynamic_shapes=({0: "batch", 1: "steps"}, {0: "batch"}))
    assert_standard_onnx_only(model)
    assert_one_node_per_layer(model, 2, bidirectional=True)
    recurrent = [n for n in model.graph.node if n.op_type in RECURRENT_OPS]
    assert all(node.input[4] for node in recurrent)  # sequence_lens, ONNX's 5th input
    assert op_counts(model)["Scan"] == 2  # the projected LSTM, a Scan per layer
    assert_runs_as(model, module, x, lengths)
    assert_runs_as(model, module, torch.randn(4, 7, I), torch.tensor([1, 7, 3, 6]))


def test_fused_and_torch_nn_exports_hold_the_same_graph():
    """Fused layers export to what their torch.nn twins export to: the same
    op types, the same recurrent nodes, the same outputs in onnxruntime (so
    that onnxruntime runs both alike: benchmarks/ times both). (torch.nn.RNN's
    export unrolls the steps, and its proj_size LSTM fails in onnxruntime:
    docs/onnx.md.)"""
    options = dict(num_layers=2, bidirectional=True, batch_first=True)
    fused = Stacks(nn.ModuleList([FusedLSTM(I, H, **options), FusedGRU(I, H, **options)])).eval()
    twin = Stacks(nn.ModuleList([layer.to_torch() for layer in fused.layers])).eval()
    x = torch.randn(3, 5, I)
    models = [export(module, (x,)) for module in (fused, twin)]
    assert op_counts(models[0]) == op_counts(models[1])
    recurrent = [
        [
            (n.op_type, {k: v for k, v in attributes(n).items() if (k, v) not in ONNX_DEFAULTS})
            for n in m.graph.node
            if n.op_type in RECURRENT_OPS
        ]
        for m in models
    ]
    assert recurrent[0] == recurrent[1] and len(recurrent[0]) == 4
    for model in models:
        assert_runs_as(model, fused, x)


class Cells(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm, self.gru = FusedLSTMCell(I, H), FusedGRUCell(I, H)
        self.tanh, self.relu = FusedRNNCell(I, H), FusedRNNCell(I, H, nonlinearity="relu")

    def forward(self, x, h, c):
        return self.lstm(x, (h, c)), self.gru(x, h), self.tanh(x, h), self.relu(x, h)


class Attention(nn.Module):
    """Bahdanau (plain and normalized) and Luong (dot, general) attention, one
    query per row and T per row, and the masked softmax of the scores."""

    def __init__(self) -> None:
        super().__init__()
        self.bahdanau = BahdanauAttention(H, I, 8)
        self.normalized = BahdanauAttention(H, I, 8, normalize=True)
        self.general = LuongAttention(H, I, method="general")
        self.dot = LuongAttention(I, I)

    def forward(self, query, queries, values, mask, scores):
        return (
            self.bahdanau(query, values, mask),
            self.normalized(queries, values, mask),
            self.general(query, values, mask=mask),
            self.general(queries, values, mask=mask),
            self.dot(values[:, 0], values, mask=mask),
            functional.masked_softmax(scores, mask),
        )


def test_cells_export_as_their_one_step_plain_ops():
    module = Cells().eval()
    x, h, c = torch.randn(3, I), torch.randn(3, H), torch.randn(3, H)
    model = export(module, (x, h, c), dynamic_shapes=({0: "batch"}, {0: "batch"}, {0: "batch"}))
    assert_standard_onnx_only(model)
    assert {"Gemm", "Sigmoid", "Tanh", "Relu"} <= set(op_counts(model))
    assert_runs_as(model, module, x, h, c)
    assert_runs_as(model, module, torch.randn(5, I), torch.randn(5, H), torch.randn(5, H))


def test_attention_and_masked_softmax_export_as_plain_ops_with_the_mask():
    """A row whose mask is all False gets zero weights and context, in
    onnxruntime as in the kernels."""
    module = Attention().eval()
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]], dtype=torch.bool)
    inputs = (
        torch.randn(3, H),
        torch.randn(3, 4, H),
        torch.randn(3, 5, I),
        mask,
        torch.randn(3, 5),
    )
    rows, source = "batch", "source"
    model = export(
        module,
        inputs,
        dynamic_shapes=(
            {0: rows},
            {0: rows, 1: "queries"},
            {0: rows, 1: source},
            {0: rows, 1: source},
            {0: rows, 1: source},
        ),
    )
    assert_standard_onnx_only(model)
    assert {"MatMul", "Tanh", "Exp", "Where"} <= set(op_counts(model))
    assert_runs_as(model, module, *inputs)
    with torch.no_grad():
        _, weights = module.bahdanau(inputs[0], inputs[2], mask)
    assert not weights[2].any()


def test_legacy_exporter_gives_the_nodes_and_packed_input_as_torch_nn():
    """dynamo=False, where torch still ships it: the same ONNX nodes as
    torch.nn's layers, and (like torch.nn's) a sorted PackedSequence."""
    layers = make_layers(num_layers=2, bidirectional=True).eval()
    x = torch.randn(5, 3, I)
    model = export(Stacks(layers), (x,), dynamo=False)
    assert_one_node_per_layer(model, 2, bidirectional=True)
    assert_runs_as(model, Stacks(layers), x)

    class Packed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = layers[0]

        def forward(self, x, lengths):
            output, (h, c) = self.lstm(pack_padded_sequence(x, lengths))
            return pad_packed_sequence(output)[0], h, c

    lengths = torch.tensor([5, 3, 2])
    model = export(Packed().eval(), (x, lengths), dynamo=False)
    assert op_counts(model)["LSTM"] == 2
    assert_runs_as(model, Packed().eval(), x, lengths)


def test_exporting_an_unsupported_combination_names_it():
    """The legacy exporter cannot trace sequences of given lengths: the error
    names it and the supported route."""
    module = WithLengths(nn.ModuleList([FusedGRU(I, H, batch_first=True)])).eval()
    with pytest.raises(UnsupportedExport, match=r"legacy .*dynamo=False.* dynamo=True"):
        export(module, (torch.randn(3, 5, I), torch.tensor([5, 2, 4])), dynamo=False)
