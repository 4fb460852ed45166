"""Double backward (create_graph=True), which torch.nn's recurrent modules give on
the CPU: the fused modules and ops give it too, through their pure-PyTorch
references (the backward kernels themselves have no derivative). torch's own
test_LSTM_grad_and_gradgrad and test_GRU_grad_and_gradgrad on the Fused
classes, the same for the Elman RNN and every cell, the attention ops, and
torch's test_LSTM_differentiable_backward_using_oneDNN (a gradient penalty in
float32, compared with torch.nn's oneDNN LSTM)."""

import pytest
import torch
from attention_args import OPS, Attn, make
from conftest import CELLS, DEVICES, flat_tensors, make_args
from torch import nn
from torch.autograd import gradcheck, gradgradcheck
from torch.func import functional_call

import seq2seq_ext
from seq2seq_ext import functional

# (torch.nn's class, ours, constructor arguments)
LAYERS = [
    (nn.LSTM, seq2seq_ext.FusedLSTM, {}),
    (nn.GRU, seq2seq_ext.FusedGRU, {}),
    (nn.RNN, seq2seq_ext.FusedRNN, {"nonlinearity": "tanh"}),
    (nn.RNN, seq2seq_ext.FusedRNN, {"nonlinearity": "relu"}),
]
LAYER_IDS = ["lstm", "gru", "rnn_tanh", "rnn_relu"]


def flat_outputs(module, *args):
    """Every tensor a module returns, (output, (h, c)) flattened, as torch's
    _test_rnn_mod does."""
    return flat_tensors(module(*args))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("_, cls, kwargs", LAYERS, ids=LAYER_IDS)
def test_grad_and_gradgrad_as_torch_tests_them(_, cls, kwargs, bias, device):
    """torch's test: gradcheck and gradgradcheck of a one-layer module, with
    respect to its input, hidden size 4, in float64."""
    inp = torch.rand(1, 3, 4, device=device, dtype=torch.float64, requires_grad=True)
    module = cls(4, 4, bias=bias, **kwargs).to(device, torch.float64)
    assert gradcheck(lambda x: flat_outputs(module, x), inp, check_batched_grad=False)
    assert gradgradcheck(lambda x: flat_outputs(module, x), inp, check_batched_grad=False)


@pytest.mark.parametrize(
    "cls, kwargs",
    [
        (seq2seq_ext.FusedLSTM, dict(num_layers=2, bidirectional=True, proj_size=2)),
        (seq2seq_ext.FusedGRU, dict(num_layers=2, batch_first=True)),
        (seq2seq_ext.FusedRNN, dict(nonlinearity="relu", bidirectional=True)),
    ],
    ids=["lstm-proj-bidirectional", "gru-2-layers", "rnn_relu-bidirectional"],
)
def test_gradgrad_of_the_weights_and_the_state(cls, kwargs):
    """Every parameter, the input and the initial state differentiated twice;
    several layers, both directions, a projection."""
    torch.manual_seed(0)
    module = cls(3, 4, **kwargs).double()
    names = [name for name, _ in module.named_parameters()]
    layers = module.num_layers * (2 if module.bidirectional else 1)
    batch, steps = 2, 4
    x = torch.randn(*((batch, steps) if module.batch_first else (steps, batch)), 3)
    state = [torch.randn(layers, batch, module.proj_size or module.hidden_size)]
    if isinstance(module, nn.LSTM):
        state.append(torch.randn(layers, batch, module.hidden_size))
    leaves = [t.double().requires_grad_() for t in (x, *state)]
    leaves += [p.detach().clone().requires_grad_() for p in module.parameters()]

    def run(x, *rest):
        hx = tuple(rest[: len(state)]) if len(state) == 2 else rest[0]
        params = dict(zip(names, rest[len(state) :]))
        return flat_tensors(functional_call(module, params, (x, hx)))

    assert gradgradcheck(run, leaves, check_batched_grad=False)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("cell", CELLS, ids=str)
def test_cells_grad_and_gradgrad(cell, device):
    """Every argument of each cell op: input, state, weights and biases."""
    args = make_args(cell, batch=2, input_size=3, hidden=2, device=device, requires_grad=True)
    leaves = args.differentiable()
    positions = [i for i, t in enumerate(args.tensors()) if t is not None]

    def run(*tensors):
        full = [None] * 7
        for i, t in zip(positions, tensors):
            full[i] = t
        input, h, c, *weights = full
        hx = (h, c) if c is not None else h
        out = cell.fused(input, hx, *weights)
        return tuple(out) if isinstance(out, (tuple, list)) else (out,)

    assert gradcheck(run, leaves)
    assert gradgradcheck(run, leaves)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", OPS)
def test_attention_ops_gradgrad(op, device):
    args = make(op, B=3, S=4, A=3, D=2, device=device)
    names = list(args.tensors)

    def run(*tensors):
        return Attn(op, dict(zip(names, tensors)), args.mask).call("fused")

    assert gradgradcheck(run, tuple(args.tensors.values()))
    scores = torch.randn(3, 5, dtype=torch.float64, device=device, requires_grad=True)
    mask = torch.tensor([[True] * 5, [False] * 5, [True, False] * 2 + [True]], device=device)
    assert gradgradcheck(lambda s: functional.masked_softmax(s, mask), (scores,))


@pytest.mark.parametrize("torch_class, cls, kwargs", LAYERS, ids=LAYER_IDS)
def test_differentiable_backward_as_torch_nn_gives_it(torch_class, cls, kwargs):
    """torch's oneDNN test in spirit: float32, batch first, a gradient penalty
    (the gradient of the input, created with create_graph=True, in the loss),
    the same second-order gradients as torch.nn's own module on the same
    weights (oneDNN's LSTM on this CPU)."""
    torch.manual_seed(0)
    theirs = torch_class(10, 8, num_layers=2, batch_first=True, **kwargs)
    ours = cls(10, 8, num_layers=2, batch_first=True, **kwargs)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(3, 5, 10)
    results = []
    for module in (theirs, ours):
        inp = x.clone().requires_grad_()
        out, _ = module(inp)
        (grad_input,) = torch.autograd.grad(out.square().sum(), inp, create_graph=True)
        penalty = grad_input.square().sum()
        results.append(torch.autograd.grad(penalty, [inp, *module.parameters()]))
    for a, b in zip(*results):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5)


def test_a_backward_with_create_graph_gives_the_kernel_gradients():
    """The recorded backward (through the reference) gives the same first-order
    gradients as the backward kernels."""
    torch.manual_seed(0)
    module = seq2seq_ext.FusedLSTM(5, 6, num_layers=2).double()
    x = torch.randn(4, 3, 5, dtype=torch.float64, requires_grad=True)
    grads = []
    for create_graph in (False, True):
        out, _ = module(x)
        grads.append(
            torch.autograd.grad(out.sum(), [x, *module.parameters()], create_graph=create_graph)
        )
    for a, b in zip(*grads):
        torch.testing.assert_close(b.detach(), a, rtol=0, atol=1e-12)
