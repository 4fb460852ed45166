"""The layer ops and FusedLSTM / FusedGRU / FusedRNN against torch.nn.LSTM / GRU
/ RNN: every combination of the constructor's options, padded and packed input,
values and every gradient, gradcheck, opcheck, compile, bad input, dropout."""

import copy
import itertools
import pickle

import pytest
import torch
from conftest import DEVICES, HALF_TYPES, assert_close_scaled, requires_cuda, tolerance
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import seq2seq_ext
from seq2seq_ext import functional, reference
from seq2seq_ext.cell_types import CELL_TYPES
from seq2seq_ext.nn.packed import reversed_order

# By cell name: (torch.nn module, fused module, constructor arguments).
MODULES = {
    "lstm": (torch.nn.LSTM, seq2seq_ext.FusedLSTM, {}),
    "gru": (torch.nn.GRU, seq2seq_ext.FusedGRU, {}),
    "rnn_tanh": (torch.nn.RNN, seq2seq_ext.FusedRNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (torch.nn.RNN, seq2seq_ext.FusedRNN, {"nonlinearity": "relu"}),
}


def pair(mode, *args, seed=0, **kwargs):
    """The torch module and the fused one, from the same seed (so the same init)."""
    torch_class, fused_class, extra = MODULES[mode]
    kwargs = {**extra, **kwargs}
    torch.manual_seed(seed)
    theirs = torch_class(*args, **kwargs)
    torch.manual_seed(seed)
    ours = fused_class(*args, **kwargs)
    return theirs, ours


def as_list(hidden):
    return list(hidden) if isinstance(hidden, tuple) else [hidden]


def initial_state(mode, module, batch, dtype, device):
    layers = module.num_layers * (2 if module.bidirectional else 1)
    real = module.proj_size if module.proj_size else module.hidden_size
    h = torch.randn(layers, batch, real, dtype=dtype, device=device, requires_grad=True)
    if mode != "lstm":
        return h
    return h, torch.randn(
        layers, batch, module.hidden_size, dtype=dtype, device=device, requires_grad=True
    )


def run_both(mode, theirs, ours, make_input, hx):
    """Runs both modules on the same input and state; returns their outputs and
    the gradients of a loss over everything they returned, for the input, the
    states and every parameter."""
    results = []
    for module in (theirs, ours):
        x, leaf = make_input()
        out, hidden = module(x, hx)
        out_data = out.data if isinstance(out, torch.nn.utils.rnn.PackedSequence) else out
        states = as_list(hidden)
        torch.manual_seed(1)
        loss = sum((t * torch.randn_like(t)).sum() for t in [out_data, *states])
        leaves = (
            [leaf]
            + [s for s in as_list(hx) if s is not None and s.requires_grad]
            + list(module.parameters())
        )
        grads = torch.autograd.grad(loss, leaves)
        results.append(([out_data, *states], grads))
    return results


def check_close(results, tol, what):
    (outs_t, grads_t), (outs_o, grads_o) = results
    for k, (a, b) in enumerate(zip(outs_o, outs_t)):
        assert_close_scaled(a, b, tol, f"{what}: output {k}")
    for k, (a, b) in enumerate(zip(grads_o, grads_t)):
        assert_close_scaled(a, b, tol, f"{what}: gradient {k}")


# (layers, bidirectional, batch_first, bias): all of them on the CPU, a few on CUDA.
OPTIONS = list(itertools.product([1, 2, 3], [False, True], [False, True], [True, False]))
CUDA_OPTIONS = [(1, False, False, True), (2, True, True, False), (3, True, False, True)]


@pytest.mark.parametrize("mode", list(MODULES))
@pytest.mark.parametrize("layers,bidirectional,batch_first,bias", OPTIONS)
def test_every_option_matches_torch_float64(mode, layers, bidirectional, batch_first, bias):
    check_options_match_torch(mode, layers, bidirectional, batch_first, bias, "cpu")


@requires_cuda
@pytest.mark.parametrize("mode", list(MODULES))
@pytest.mark.parametrize("layers,bidirectional,batch_first,bias", CUDA_OPTIONS)
def test_options_match_torch_float64_on_cuda(mode, layers, bidirectional, batch_first, bias):
    check_options_match_torch(mode, layers, bidirectional, batch_first, bias, "cuda")


def check_options_match_torch(mode, layers, bidirectional, batch_first, bias, device):
    """Outputs, final states and every gradient against torch.nn in float64: padded
    input with and without an initial state, and a packed batch of unsorted
    lengths (1 and the longest among them); the LSTM with and without proj_size."""
    for proj_size in [0, 3] if mode == "lstm" else [0]:
        kwargs = dict(
            num_layers=layers,
            bidirectional=bidirectional,
            batch_first=batch_first,
            bias=bias,
            dtype=torch.float64,
            device=device,
        )
        if proj_size:
            kwargs["proj_size"] = proj_size
        theirs, ours = pair(mode, 5, 7, **kwargs)
        T, B = 6, 4
        shape = (B, T, 5) if batch_first else (T, B, 5)
        base = torch.randn(*shape, dtype=torch.float64, device=device)

        def padded():
            x = base.clone().requires_grad_()
            return x, x

        for hx in (None, initial_state(mode, theirs, B, torch.float64, device)):
            check_close(
                run_both(mode, theirs, ours, padded, hx),
                1e-10,
                f"{mode} padded proj={proj_size} hx={hx is not None}",
            )

        lengths = torch.tensor([3, 6, 1, 5])  # unsorted, with length 1 and the maximum

        def packed():
            x = base.clone().requires_grad_()
            return pack_padded_sequence(
                x, lengths, batch_first=batch_first, enforce_sorted=False
            ), x

        hx = initial_state(mode, theirs, B, torch.float64, device)
        check_close(
            run_both(mode, theirs, ours, packed, hx), 1e-10, f"{mode} packed proj={proj_size}"
        )


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("frozen", ["weights", "input", "initial state"])
@pytest.mark.parametrize("mode", list(MODULES))
def test_only_some_arguments_need_gradients(mode, frozen, device):
    """Frozen weights, an input or an initial state without grad: the layer
    ops' backward is asked for fewer gradients (its output_mask); the ones it
    gives match torch.nn's."""
    theirs, ours = pair(
        mode, 5, 6, num_layers=2, bidirectional=True, dtype=torch.float64, device=device
    )
    x = torch.randn(7, 3, 5, dtype=torch.float64, device=device)
    hx = [s.detach() for s in as_list(initial_state(mode, theirs, 3, torch.float64, device))]
    results = []
    for module in (theirs, ours):
        module.requires_grad_(frozen != "weights")
        inputs = [x.clone().requires_grad_(frozen != "input")]
        states = [s.clone().requires_grad_(frozen != "initial state") for s in hx]
        out, hidden = module(inputs[0], tuple(states) if mode == "lstm" else states[0])
        outputs = [out, *as_list(hidden)]
        torch.manual_seed(1)
        loss = sum((t * torch.randn_like(t)).sum() for t in outputs)
        leaves = [t for t in [*inputs, *states, *module.parameters()] if t.requires_grad]
        results.append((outputs, torch.autograd.grad(loss, leaves)))
    check_close(results, 1e-10, f"{mode}, {frozen} frozen")


@pytest.mark.parametrize("used", ["output", "final h", "final c"])
@pytest.mark.parametrize("mode", list(MODULES))
def test_a_loss_on_some_outputs_only(mode, used):
    """A loss on the output alone or on one final state alone: the layer ops'
    backward gets no gradient (None) for the others and uses zeros."""
    if used == "final c" and mode != "lstm":
        pytest.skip("only the LSTM has a cell state")
    theirs, ours = pair(mode, 5, 6, num_layers=2, dtype=torch.float64)
    x = torch.randn(7, 3, 5, dtype=torch.float64)
    results = []
    for module in (theirs, ours):
        inputs = x.clone().requires_grad_()
        out, hidden = module(inputs)
        chosen = {"output": out, "final h": as_list(hidden)[0], "final c": as_list(hidden)[-1]}
        torch.manual_seed(1)
        loss = (chosen[used] * torch.randn_like(chosen[used])).sum()
        results.append(([chosen[used]], torch.autograd.grad(loss, [inputs, *module.parameters()])))
    check_close(results, 1e-10, f"{mode}, loss on {used}")


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("mode", list(MODULES))
def test_unbatched_input_matches_torch(mode, batch_first):
    theirs, ours = pair(
        mode, 3, 4, num_layers=2, bidirectional=True, batch_first=batch_first, dtype=torch.float64
    )
    x = torch.randn(5, 3, dtype=torch.float64)
    h = torch.randn(4, 4, dtype=torch.float64)
    for hx in (None, (h, torch.randn(4, 4, dtype=torch.float64)) if mode == "lstm" else h):
        (out_t, hid_t), (out_o, hid_o) = theirs(x, hx), ours(x, hx)
        assert out_o.shape == out_t.shape == (5, 8)
        for a, b in zip([out_o, *as_list(hid_o)], [out_t, *as_list(hid_t)]):
            torch.testing.assert_close(a, b)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16], ids=str)
@pytest.mark.parametrize("mode", ["lstm", "gru"])
def test_real_size_matches_torch(mode, dtype, device):
    """B 64, T 50, E = H = 256, two bidirectional layers."""
    theirs, ours = pair(mode, 256, 256, num_layers=2, bidirectional=True, device=device)
    x_base = torch.randn(50, 64, 256, device=device)
    if dtype in HALF_TYPES:
        # Half types: against the float32 result of the same half-rounded
        # weights and input (torch's own half RNNs round differently).
        theirs, ours = theirs.to(dtype).float(), ours.to(dtype)
        x_base = x_base.to(dtype)
    results = []
    for module, cast in ((theirs, torch.float32), (ours, dtype)):
        x = x_base.to(cast).requires_grad_()
        out, hidden = module(x)
        torch.manual_seed(1)
        upstream = [torch.randn(t.shape, device=device) for t in [out, *as_list(hidden)]]
        loss = sum((t.float() * g).sum() for t, g in zip([out, *as_list(hidden)], upstream))
        grads = torch.autograd.grad(loss, [x] + list(module.parameters()))
        results.append(([out, *as_list(hidden)], grads))
    tol = tolerance(dtype, device)  # for values and gradients alike
    (outs_t, grads_t), (outs_o, grads_o) = results
    for a, b in zip(outs_o, outs_t):
        assert_close_scaled(a.float(), b.float(), tol, "output")
    names = ["input"] + [name for name, _ in ours.named_parameters()]
    for name, a, b in zip(names, grads_o, grads_t):
        assert_close_scaled(a.float(), b.float(), tol, f"gradient of {name}")


@requires_cuda
@pytest.mark.parametrize("dtype", HALF_TYPES, ids=str)
def test_projection_in_half_precision_on_cuda(dtype):
    """The LSTM with proj_size on CUDA in a half type against torch.nn.LSTM in
    float64 on the CPU with the same half-rounded weights and input, at the
    real size (P 128): outputs, final states and every gradient."""
    theirs, ours = pair("lstm", 256, 256, num_layers=2, bidirectional=True, proj_size=128)
    theirs, ours = theirs.to(dtype).double(), ours.to("cuda", dtype)
    x_base = torch.randn(50, 64, 256).to(dtype)
    results = []
    for module, device, cast in ((theirs, "cpu", torch.float64), (ours, "cuda", dtype)):
        x = x_base.to(device, cast).requires_grad_()
        out, hidden = module(x)
        outputs = [out, *as_list(hidden)]
        torch.manual_seed(1)
        upstream = [torch.randn(t.shape, dtype=torch.float64) for t in outputs]
        loss = sum((t.double() * g.to(device)).sum() for t, g in zip(outputs, upstream))
        grads = torch.autograd.grad(loss, [x] + list(module.parameters()))
        results.append(([t.cpu().double() for t in outputs], [g.cpu().double() for g in grads]))
    tol = tolerance(dtype, "cuda")
    (outs_t, grads_t), (outs_o, grads_o) = results
    for a, b in zip(outs_o, outs_t):
        assert_close_scaled(a, b, tol, "output")
    names = ["input"] + [name for name, _ in ours.named_parameters()]
    for name, a, b in zip(names, grads_o, grads_t):
        assert_close_scaled(a, b, tol, f"gradient of {name}")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mode", list(MODULES))
def test_layer_op_gradcheck(mode, device):
    """float64 gradcheck of one layer op over a packed batch of unequal lengths,
    through every input, both states and every weight."""
    G, I, H = CELL_TYPES[mode].gates, 3, 4
    batch_sizes = torch.tensor([3, 3, 2, 1])
    N = int(batch_sizes.sum())
    make = lambda *shape: torch.randn(
        *shape,
        dtype=torch.float64,
        device=device,
        requires_grad=True,
    )
    tensors = (
        [make(N, I), make(3, H)]
        + ([make(3, H)] if mode == "lstm" else [])
        + [make(G * H, I), make(G * H, H), make(G * H), make(G * H)]
    )
    op = getattr(functional, f"{mode}_layer")
    assert torch.autograd.gradcheck(lambda x, *rest: op(x, batch_sizes, *rest), tensors)


def test_lstm_projection_gradcheck():
    H, P = 4, 2
    batch_sizes = torch.tensor([2, 2, 1])
    make = lambda *shape: torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    tensors = [
        make(5, 3),
        make(2, P),
        make(2, H),
        make(4 * H, 3),
        make(4 * H, P),
        make(4 * H),
        make(4 * H),
        make(P, H),
    ]
    assert torch.autograd.gradcheck(
        lambda x, *rest: functional.lstm_layer(x, batch_sizes, *rest), tensors
    )


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mode", list(MODULES))
def test_opcheck_layer_ops(mode, device):
    G, I, H = CELL_TYPES[mode].gates, 3, 4
    batch_sizes = torch.tensor([3, 2, 2, 1])
    N = int(batch_sizes.sum())
    make = lambda *shape: torch.randn(*shape, device=device, requires_grad=True)
    args = (
        [make(N, I), batch_sizes, make(3, H)]
        + ([make(3, H)] if mode == "lstm" else [])
        + [make(G * H, I), make(G * H, H), make(G * H), make(G * H)]
    )
    op = getattr(torch.ops.seq2seq_ext, f"{mode}_layer").default
    torch.library.opcheck(op, tuple(args))
    if mode == "lstm":  # with the projection
        args = [
            make(N, I),
            batch_sizes,
            make(3, 2),
            make(3, H),
            make(4 * H, I),
            make(4 * H, 2),
            None,
            None,
            make(2, H),
        ]
        torch.library.opcheck(op, tuple(args))


def test_reversed_order_reverses_each_sequence():
    lengths = [4, 2, 2, 1]
    batch_sizes = torch.tensor([4, 3, 1, 1])  # steps of lengths 4, 2, 2, 1 sorted
    padded = torch.arange(4 * 4).view(4, 4)  # (T, B): element t*B + b
    packed = pack_padded_sequence(padded.unsqueeze(-1), torch.tensor(lengths)).data.squeeze(-1)
    assert torch.equal(
        pack_padded_sequence(padded.unsqueeze(-1), torch.tensor(lengths)).batch_sizes,
        torch.tensor([4, 3, 1, 1]),
    )
    order = reversed_order(batch_sizes, batch=len(lengths), rows=len(packed))
    unpacked, _ = pad_packed_sequence(
        torch.nn.utils.rnn.PackedSequence(packed[order].unsqueeze(-1), batch_sizes)
    )
    for b, length in enumerate(lengths):
        assert torch.equal(unpacked[:length, b, 0], padded[:length, b].flip(0))
    assert torch.equal(order[order], torch.arange(len(order)))


def test_empty_and_length_zero_edges():
    theirs, ours = pair("lstm", 3, 4, num_layers=2, bidirectional=True)
    out, (h, c) = ours(torch.randn(5, 0, 3))
    assert out.shape == (5, 0, 8) and h.shape == (4, 0, 4)
    # The layer op itself takes sequences of length 0 (rows beyond batch_sizes[0]).
    h0, c0 = torch.randn(3, 4), torch.randn(3, 4)
    w_ih, w_hh = torch.randn(16, 3), torch.randn(16, 4)
    batch_sizes = torch.tensor([2, 1])
    out, h_n, c_n = functional.lstm_layer(torch.randn(3, 3), batch_sizes, h0, c0, w_ih, w_hh)
    assert torch.equal(h_n[2], h0[2]) and torch.equal(c_n[2], c0[2])
    expected = reference.lstm_layer(
        torch.randn(0, 3), torch.tensor([], dtype=torch.long), h0, c0, w_ih, w_hh
    )
    ours_empty = functional.lstm_layer(
        torch.randn(0, 3), torch.tensor([], dtype=torch.long), h0, c0, w_ih, w_hh
    )
    for a, b in zip(ours_empty, expected):
        assert torch.equal(a, b)


@pytest.mark.parametrize("mode", list(MODULES))
def test_dropout_train_eval_and_seed(mode):
    theirs, ours = pair(mode, 5, 6, num_layers=3, dropout=0.5)
    x = torch.randn(7, 2, 5)
    ours.eval()
    theirs.eval()
    torch.testing.assert_close(ours(x)[0], theirs(x)[0])  # eval: no dropout
    ours.train()
    torch.manual_seed(3)
    first = ours(x)[0]
    torch.manual_seed(3)
    second = ours(x)[0]
    assert torch.equal(first, second), "dropout is not deterministic under a seed"
    assert not torch.allclose(first, ours.eval()(x)[0]), "training mode applied no dropout"


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("layers", [2, 3])
@pytest.mark.parametrize("mode", list(MODULES))
def test_dropout_in_training_matches_torch(mode, layers, bidirectional):
    """Train mode under one seed: torch.nn drops between layers (never after the
    last one), with the same random draws, so outputs and gradients agree."""
    theirs, ours = pair(
        mode,
        5,
        6,
        num_layers=layers,
        dropout=0.5,
        bidirectional=bidirectional,
        dtype=torch.float64,
    )
    x = torch.randn(7, 3, 5, dtype=torch.float64)
    (outs_t, grads_t), (outs_o, grads_o) = (run_in_training(m, x) for m in (theirs, ours))
    for k, (a, b) in enumerate(zip(outs_o, outs_t)):
        assert_close_scaled(a, b, 1e-10, f"output {k}")
    for k, (a, b) in enumerate(zip(grads_o, grads_t)):
        assert_close_scaled(a, b, 1e-10, f"gradient {k}")


def run_in_training(module, x):
    """Outputs and gradients (of the input and parameters) of one train-mode
    forward from seed 3, for a random loss over everything it returned."""
    module.train()
    torch.manual_seed(3)
    x = x.clone().requires_grad_()
    out, hidden = module(x)
    outputs = [out, *as_list(hidden)]
    torch.manual_seed(1)
    loss = sum((t * torch.randn_like(t)).sum() for t in outputs)
    return outputs, torch.autograd.grad(loss, [x, *module.parameters()])


AUTOCAST = [
    ("cpu", torch.bfloat16),
    pytest.param("cuda", torch.float16, marks=requires_cuda),
    pytest.param("cuda", torch.bfloat16, marks=requires_cuda),
]


@pytest.mark.parametrize("device,autocast_dtype", AUTOCAST)
@pytest.mark.parametrize("mode", list(MODULES))
def test_autocast_runs_layers_in_the_autocast_dtype(mode, device, autocast_dtype):
    """Under torch.autocast a float32 module runs its layer ops in the autocast
    dtype, as torch.nn's RNNs do: its outputs are in it and equal to those of
    the module cast to it. Its float32 weights get float32 gradients, the same
    whether backward() runs inside the autocast region or after it (the
    backward ops run in the dtype of what the forward saved)."""
    _, ours = pair(mode, 16, 32, num_layers=2, bidirectional=True, device=device)
    x = torch.randn(7, 3, 16, device=device)
    cast = copy.deepcopy(ours).to(autocast_dtype)
    expected = [cast(x.to(autocast_dtype))[0], *as_list(cast(x.to(autocast_dtype))[1])]
    gradients = []
    for backward_inside in (True, False):
        ours.zero_grad()
        with torch.autocast(device, dtype=autocast_dtype):
            out, hidden = ours(x)
            loss = sum(t.float().sum() for t in [out, *as_list(hidden)])
            if backward_inside:
                loss.backward()
        if not backward_inside:
            loss.backward()
        for a, b in zip([out, *as_list(hidden)], expected):
            assert a.dtype == autocast_dtype
            torch.testing.assert_close(a, b, rtol=0, atol=0)
        gradients.append([p.grad for p in ours.parameters()])
    for inside, after in zip(*gradients):
        assert inside.dtype == torch.float32
        torch.testing.assert_close(inside, after, rtol=0, atol=0)


@pytest.mark.parametrize("mode", list(MODULES))
def test_deepcopy_and_pickle_give_working_modules(mode):
    """Copies (deepcopy, a pickle round trip) compute what the original does."""
    _, ours = pair(mode, 4, 5, num_layers=2, bidirectional=True)
    x = torch.randn(6, 3, 4)
    expected = [ours(x)[0], *as_list(ours(x)[1])]
    for copied in (copy.deepcopy(ours), pickle.loads(pickle.dumps(ours))):
        for a, b in zip([copied(x)[0], *as_list(copied(x)[1])], expected):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("mode", list(MODULES))
def test_bad_input_errors_match_torch(mode):
    theirs, ours = pair(mode, 4, 5, num_layers=2)
    cases = [torch.randn(2, 3, 4, 1), torch.randn(6, 2, 3), torch.randn(6, 2, 4).double()]
    for x in cases:
        with pytest.raises((ValueError, RuntimeError)) as expected:
            theirs(x)
        with pytest.raises(type(expected.value)) as got:
            ours(x)
        assert str(got.value) == str(expected.value)
    x = torch.randn(6, 2, 4)
    bad_h = torch.randn(2, 3, 5)
    bad_hx = (bad_h, torch.randn(2, 2, 5)) if mode == "lstm" else bad_h
    with pytest.raises(RuntimeError) as expected:
        theirs(x, bad_hx)
    with pytest.raises(RuntimeError) as got:
        ours(x, bad_hx)
    assert str(got.value) == str(expected.value)


@pytest.mark.parametrize("mode", list(MODULES))
def test_constructor_matches_torch(mode):
    theirs, ours = pair(mode, 3, 4, 2, bias=False, batch_first=True, bidirectional=True)
    for attribute in (
        "input_size",
        "hidden_size",
        "num_layers",
        "bias",
        "batch_first",
        "dropout",
        "bidirectional",
        "proj_size",
    ):
        assert getattr(ours, attribute) == getattr(theirs, attribute)
    assert repr(ours).replace("Fused", "") == repr(theirs)
    assert [[p.shape for p in layer] for layer in ours.all_weights] == [
        [p.shape for p in layer] for layer in theirs.all_weights
    ]
    assert [p.shape for p in ours._flat_weights] == [p.shape for p in theirs._flat_weights]
    ours.flatten_parameters()
    back = MODULES[mode][0](
        3, 4, 2, bias=False, batch_first=True, bidirectional=True, **MODULES[mode][2]
    )
    back.load_state_dict(ours.state_dict())
    for bad in (dict(dropout=2.0), dict(hidden_size=0)):
        kwargs = dict(input_size=3, hidden_size=4, **MODULES[mode][2])
        kwargs.update(bad)
        with pytest.raises(ValueError) as expected:
            MODULES[mode][0](**kwargs)
        with pytest.raises(
            ValueError, match=str(expected.value).replace("[", r"\[").replace("]", r"\]")
        ):
            MODULES[mode][1](**kwargs)


@pytest.mark.parametrize("mode", list(MODULES))
def test_from_torch_and_to_torch(mode):
    torch_class, fused_class, extra = MODULES[mode]
    kwargs = dict(num_layers=2, bidirectional=True, batch_first=True, dropout=0.25, **extra)
    if mode == "lstm":
        kwargs["proj_size"] = 3
    original = torch_class(4, 5, dtype=torch.float64, **kwargs).eval()
    fused = fused_class.from_torch(original)
    back = fused.to_torch()
    assert type(back) is torch_class and not fused.training and repr(back) == repr(original)
    x = torch.randn(2, 7, 4, dtype=torch.float64)
    for a, b in zip(
        [original(x)[0], *as_list(original(x)[1])], [fused(x)[0], *as_list(fused(x)[1])]
    ):
        torch.testing.assert_close(a, b)
    assert all(torch.equal(a, b) for a, b in zip(back.parameters(), original.parameters()))
    with pytest.raises(TypeError, match="expects a"):
        fused_class.from_torch(torch.nn.Linear(2, 2))


def test_bad_batch_sizes_give_clear_errors():
    h0 = torch.zeros(2, 4)
    w_ih, w_hh = torch.randn(12, 3), torch.randn(12, 4)
    with pytest.raises(RuntimeError, match="expected batch_sizes to be non-increasing"):
        torch.ops.seq2seq_ext.gru_layer(torch.randn(3, 3), torch.tensor([1, 2]), h0, w_ih, w_hh)
    with pytest.raises(RuntimeError, match="batch_sizes add up to 4 rows, but input has 3"):
        torch.ops.seq2seq_ext.gru_layer(torch.randn(3, 3), torch.tensor([2, 2]), h0, w_ih, w_hh)
    with pytest.raises(RuntimeError, match="expected batch_sizes to be a 1-D int64 tensor"):
        torch.ops.seq2seq_ext.gru_layer(torch.randn(3, 3), torch.tensor([2.0, 1.0]), h0, w_ih, w_hh)


@pytest.mark.parametrize("mode", list(MODULES))
def test_device_mix_gives_torch_error(mode):
    """Input and state or weights on two devices: torch's message (the meta
    device stands in for a second one where no GPU is)."""
    theirs, ours = pair(mode, 3, 4)
    x = torch.randn(5, 2, 3)
    h = torch.zeros(1, 2, 4, device="meta")
    cases = [(theirs, ours, ((h, torch.zeros(1, 2, 4)) if mode == "lstm" else h))]
    cases.append((theirs.to("meta"), ours.to("meta"), None))
    for torch_module, fused_module, hx in cases:
        with pytest.raises(RuntimeError) as expected:
            torch_module(x, hx)
        with pytest.raises(RuntimeError) as got:
            fused_module(x, hx)
        assert str(got.value) == str(expected.value)
