"""The step-by-step training pass as one op (seq2seq_ext::decoder_stepwise_pass:
the decoder's loop and its backward through time in C++): the same logits
and gradients as the Python loop over decoder.step for every cell, attention,
input feeding and scheduled sampling; on CUDA what it gives on the CPU;
gradcheck in float64; opcheck; edge cases (empty batch, one step, one source
token, fully masked rows, non-contiguous arguments, bfloat16); bad arguments;
where it runs."""

import itertools

import pytest
import torch
from conftest import DEVICES, TOLERANCES, assert_close_scaled, requires_cuda
from test_decoding_ops import (
    ATTENTIONS,
    CELLS,
    ONE_DECODER_PER_ATTENTION,
    TGT_VOCAB,
    make_model,
    make_source,
)

from seq2seq_ext.models import search
from seq2seq_ext.models.loop_ops import loop_op_serves

OP = "decoder_stepwise_pass"
# (attention, input_feeding, bidirectional, teacher_forcing_ratio): the
# decoders that run step by step (input feeding, or scheduled sampling).
STEPWISE = [
    (attention, feeding, bidirectional, ratio)
    for attention, feeding, bidirectional, ratio in itertools.product(
        ATTENTIONS, [False, True], [False, True], [1.0, 0.5]
    )
    if (feeding or ratio < 1.0)
    and not (feeding and attention == "none")
    and not (attention == "luong-dot" and bidirectional)
]


def make_target(batch, tgt_len=7, seed=2, device="cpu"):
    generator = torch.Generator().manual_seed(seed)
    tgt = torch.randint(3, TGT_VOCAB, (batch, tgt_len), generator=generator)
    tgt[:, 0] = 1
    tgt[1:2, -2:] = 0  # PAD, whose embedding row gets no gradient
    return tgt.to(device)


def logits_and_grads(model, src, lengths, tgt, ratio, loop, inputs=()):
    """The logits and the gradients of the model's parameters (and of
    `inputs`) for fixed random upstream gradients; the same scheduled-sampling
    draws for both loops."""
    model.zero_grad()
    torch.manual_seed(7)
    logits = model(src, lengths, tgt, ratio, loop=loop)
    upstream = torch.randn(logits.shape, generator=torch.Generator().manual_seed(3))
    leaves = [*model.parameters(), *inputs]
    grads = torch.autograd.grad(logits, leaves, upstream.to(logits), allow_unused=True)
    return logits.detach(), grads


def assert_same_pass(model, src, lengths, tgt, ratio, tol, inputs=()):
    ours, ours_grads = logits_and_grads(model, src, lengths, tgt, ratio, "cpp", inputs)
    python, python_grads = logits_and_grads(model, src, lengths, tgt, ratio, "python", inputs)
    assert_close_scaled(ours, python, tol, "logits")
    names = [name for name, _ in model.named_parameters()] + [f"input {i}" for i in inputs]
    for name, a, b in zip(names, ours_grads, python_grads):
        if b is None:
            assert a is None or a.eq(0).all(), name
            continue
        assert_close_scaled(a, b, tol, f"grad of {name}")
    return ours


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("decoder", STEPWISE, ids=lambda d: "-".join(map(str, d)))
def test_op_equals_the_python_loop(cell, decoder):
    *structure, ratio = decoder
    model = make_model(cell, *structure).double().train()
    src, lengths = make_source(batch=5)
    assert_same_pass(model, src, lengths, make_target(5), ratio, TOLERANCES[torch.float64])


def test_scheduled_sampling_feeds_the_predictions():
    """With ratio 0 every step after the first reads the previous argmax, which
    is not the target (so the comparison above exercises the sampling)."""
    model = make_model("gru", "bahdanau", True, False)
    src, lengths = make_source(batch=4)
    tgt = make_target(4)
    arguments = list(model.decoder.decoding_op_arguments(*model.encode(src, lengths)))
    op = getattr(torch.ops.seq2seq_ext, OP)
    use_truth = torch.zeros(tgt.shape, dtype=torch.bool)
    logits, tokens, *_ = op(*arguments, tgt, use_truth, [], 0)
    assert torch.equal(tokens[:, 0], tgt[:, 0])
    assert torch.equal(tokens[:, 1:], logits[:, :-1].argmax(2))
    assert not torch.equal(tokens, tgt)
    _, truth_tokens, *_ = op(*arguments, tgt, None, [], 0)
    assert torch.equal(truth_tokens, tgt)


@pytest.mark.parametrize("cell, num_layers", [("lstm", 3), ("gru", 2), ("rnn_relu", 1)])
def test_dropout_equals_the_python_loop_with_the_same_masks(cell, num_layers, monkeypatch):
    """The op takes the masks decoder.dropout_masks draws; the Python loop's
    nn.Dropout and inter-layer dropout get the same masks, in the order it
    applies them (each step: the embedding, between layers, the output)."""
    model = make_model(cell, "bahdanau", True, False, num_layers=num_layers, dropout=0.4)
    model = model.double().train()
    model.encoder.eval()  # dropout in the decoder only: its masks are the test's
    src, lengths = make_source(batch=4)
    tgt = make_target(4)
    steps = tgt.shape[1] - 1
    torch.manual_seed(11)
    masks = model.decoder.dropout_masks(steps, 4, like=torch.empty((), dtype=torch.double))
    embedding, layers, output = masks
    assert set(output.unique().tolist()) == {0.0, 1 / 0.6}
    in_call_order = [
        mask
        for t in range(steps)
        for mask in [embedding[t], *(layer[t] for layer in layers), output[t]]
    ]
    monkeypatch.setattr(model.decoder, "dropout_masks", lambda *args, **kwargs: masks)
    queue = []

    def dropout(x, p=0.5, training=True, inplace=False):
        return x * queue.pop(0).view(x.shape) if training else x

    monkeypatch.setattr(torch.nn.functional, "dropout", dropout)
    queue[:] = in_call_order
    ours = logits_and_grads(model, src, lengths, tgt, 0.5, "cpp")
    assert len(queue) == len(in_call_order), "the op drew nothing through F.dropout"
    queue[:] = in_call_order
    python = logits_and_grads(model, src, lengths, tgt, 0.5, "python")
    assert queue == [], "the Python loop applied every mask"
    assert_close_scaled(ours[0], python[0], 1e-10, "logits")
    for name, a, b in zip(dict(model.named_parameters()), ours[1], python[1]):
        if b is not None:
            assert_close_scaled(a, b, 1e-10, f"grad of {name}")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    "batch, num_layers, tgt_len, dtype",
    [
        (1, 1, 7, torch.float32),
        (4, 3, 7, torch.float64),
        (3, 2, 2, torch.float64),  # one decoder step
        (0, 2, 7, torch.float64),  # an empty batch
    ],
)
def test_sizes_and_devices(device, batch, num_layers, tgt_len, dtype):
    """Batch 1 (the CPU's matrix-vector recurrence), several layers, one step,
    an empty batch; gradients reach the encoder through the memory and state."""
    model = make_model("lstm", "bahdanau", True, True, num_layers=num_layers)
    model = model.to(device, dtype).train()
    src, lengths = make_source(batch, device=device)
    tgt = make_target(batch, tgt_len, device=device)
    tol = TOLERANCES[dtype] * (10 if device == "cuda" else 1)
    logits = assert_same_pass(model, src, lengths, tgt, 1.0, tol)
    assert logits.shape == (batch, tgt_len - 1, TGT_VOCAB)


@pytest.mark.parametrize("attention", ["bahdanau", "luong-general"])
def test_fully_masked_rows_and_one_source_token(attention, monkeypatch):
    """A row that attends to nothing (zero weights, zero context), and S = 1;
    the memory and state are leaves, their gradients compared too."""
    model = make_model("gru", attention, True, True).double()
    config = model.config
    for src_len, mask_row in ((4, [False] * 4), (1, [True])):
        torch.manual_seed(5)
        values = torch.randn(2, src_len, config.encoder_output_size, dtype=torch.double)
        state = torch.randn(config.num_layers, 2, config.hidden_size, dtype=torch.double)
        values.requires_grad_()
        state.requires_grad_()
        mask = torch.tensor([[True] * src_len, mask_row])
        monkeypatch.setattr(
            model,
            "encode",
            lambda *args, v=values, m=mask, s=state: (model.decoder.memory(v, m), s),
        )
        src = torch.zeros(2, src_len, dtype=torch.long)
        assert_same_pass(
            model, src, torch.tensor([src_len, 1]), make_target(2), 0.5, 1e-10, [values, state]
        )


def test_non_contiguous_arguments():
    """Transposed views of the memory and state give what copies give."""
    model = make_model("gru", "bahdanau", True, True).double()
    src, lengths = make_source(batch=3)
    tgt = make_target(3)
    memory, state = model.encode(src, lengths)
    args = model.decoder.decoding_op_arguments(memory, state)
    op = getattr(torch.ops.seq2seq_ext, OP)
    expected = op(*args, tgt, None, [], 0)[0]

    def strided(t):
        return t.transpose(0, -1).contiguous().transpose(0, -1)

    weights, cell, attention, feeding, states, values, mask, keys_proj = args
    assert not strided(values).is_contiguous()
    ours = op(
        [strided(w) for w in weights],
        cell,
        attention,
        feeding,
        [strided(s) for s in states],
        strided(values),
        mask,
        strided(keys_proj),
        strided(tgt),
        None,
        [],
        0,
    )[0]
    torch.testing.assert_close(ours, expected, rtol=0, atol=1e-12)


def test_bfloat16_is_close_to_float64():
    model = make_model("gru", "bahdanau", True, False).train()
    src, lengths = make_source(batch=4)
    tgt = make_target(4)
    exact, exact_grads = logits_and_grads(model.double(), src, lengths, tgt, 1.0, "python")
    half, half_grads = logits_and_grads(model.bfloat16(), src, lengths, tgt, 1.0, "cpp")
    assert half.dtype == torch.bfloat16
    assert_close_scaled(half.double(), exact, 5e-2, "logits")
    for a, b in zip(half_grads, exact_grads):
        assert_close_scaled(a.double(), b, 5e-2, "gradient")


def sampling_and_dropout(cell, decoder, batch=5):
    """A model in training mode with dropout 0.5 in its decoder (masks of 0 and
    2, exact in every dtype; the encoder, in eval mode, draws none), a batch,
    and the draws of scheduled sampling at ratio 0.5 and the dropout masks,
    made on the CPU: the model's forward would draw them on its device, whose
    generator gives other draws."""
    model = make_model(cell, *decoder, dropout=0.5).double().train()
    model.encoder.eval()
    src, lengths = make_source(batch)
    tgt = make_target(batch)
    steps = tgt.shape[1] - 1
    use_truth = torch.rand(batch, steps, generator=torch.Generator().manual_seed(8)) < 0.5
    torch.manual_seed(11)
    masks = model.decoder.dropout_masks(steps, batch, like=torch.empty((), dtype=torch.double))
    return model, src, lengths, tgt, use_truth, masks


def sampled_pass(model, src, lengths, tgt, use_truth, masks):
    """The op as the model's forward calls it, on the model's device and in its
    dtype, with these sampling draws (None: teacher forcing) and dropout
    masks: the logits, the tokens the steps read and the gradients of the
    model's parameters for fixed random upstream gradients, on the CPU."""
    weight = next(model.parameters())
    device, dtype = weight.device, weight.dtype
    memory, state = model.encode(src.to(device), lengths.to(device))
    logits, tokens, *_ = getattr(torch.ops.seq2seq_ext, OP)(
        *model.decoder.decoding_op_arguments(memory, state),
        tgt[:, :-1].to(device),
        use_truth.to(device) if use_truth is not None else None,
        [mask.to(device, dtype) for mask in masks],
        model.config.pad_index,
    )
    upstream = torch.randn(logits.shape, generator=torch.Generator().manual_seed(3))
    grads = torch.autograd.grad(
        logits, list(model.parameters()), upstream.to(logits), allow_unused=True
    )
    return logits.detach().cpu(), tokens.cpu(), [g.cpu() if g is not None else g for g in grads]


def assert_close_passes(model, ours, expected, tol):
    """Logits and gradients (sampled_pass) within tol of the expected ones."""
    assert_close_scaled(ours[0].double(), expected[0], tol, "logits")
    for name, a, b in zip(dict(model.named_parameters()), ours[2], expected[2]):
        if b is None:
            assert a is None, name
            continue
        assert_close_scaled(a.double(), b, tol, f"grad of {name}")


@requires_cuda
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("decoder", ONE_DECODER_PER_ATTENTION, ids=lambda d: "-".join(map(str, d)))
def test_cuda_matches_the_cpu_op(cell, decoder):
    """Scheduled sampling and dropout in float64, the same draws and masks on
    both devices: on CUDA the steps read the same tokens (the CPU's argmax where
    they read predictions), and the logits and gradients are the CPU's."""
    model, src, lengths, tgt, use_truth, masks = sampling_and_dropout(cell, decoder)
    expected = sampled_pass(model, src, lengths, tgt, use_truth, masks)
    assert not torch.equal(expected[1], tgt[:, :-1]), "some steps read a prediction"
    ours = sampled_pass(model.cuda(), src, lengths, tgt, use_truth, masks)
    assert torch.equal(ours[1], expected[1]), "the tokens read"
    assert_close_passes(model, ours, expected, TOLERANCES[torch.float64] * 10)


@requires_cuda
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh"])
@pytest.mark.parametrize("decoder", ONE_DECODER_PER_ATTENTION, ids=lambda d: "-".join(map(str, d)))
def test_cuda_bfloat16_is_close_to_float64(cell, decoder):
    """Scheduled sampling and dropout in bfloat16 on CUDA, against float64 on
    the CPU with the same weights (rounded to bfloat16), draws and masks, fed
    the tokens the bfloat16 steps read (its argmax may pick another of two
    close logits). Not rnn_relu: a pre-activation that rounds to the other side
    of 0 switches a unit's gradient on or off (torch.nn.RNN's own bfloat16
    gradients are 0.1 off float64 there)."""
    model, src, lengths, tgt, use_truth, masks = sampling_and_dropout(cell, decoder)
    ours = sampled_pass(model.to("cuda", torch.bfloat16), src, lengths, tgt, use_truth, masks)
    logits, tokens, _ = ours
    assert logits.dtype == torch.bfloat16
    predicted = torch.cat([tgt[:, :1], logits[:, :-1].argmax(2)], dim=1)
    assert torch.equal(tokens, torch.where(use_truth, tgt[:, :-1], predicted))
    read = torch.cat([tokens, tgt[:, -1:]], dim=1)
    expected = sampled_pass(model.to("cpu", torch.float64), src, lengths, read, None, masks)
    assert_close_passes(model, ours, expected, 5e-2)


# ------------------------------------------------------------ the op itself


def op_arguments(cell="gru", attention="bahdanau", feeding=True, batch=3, dtype=torch.double):
    model = make_model(cell, attention, feeding, False).to(dtype)
    src, lengths = make_source(batch, src_len=4)
    with torch.no_grad():
        memory, state = model.encode(src, lengths)
    args = list(model.decoder.decoding_op_arguments(memory, state))
    args[0], args[4] = list(args[0]), list(args[4])
    return args + [make_target(batch, 4), None, [], 0]


def differentiable(args):
    """The op's arguments as leaves that require gradients: weights, state,
    values and keys_proj."""
    args[0] = [w.detach().clone().requires_grad_() for w in args[0]]
    args[4] = [s.detach().clone().requires_grad_() for s in args[4]]
    for i in (5, 7):
        if args[i] is not None:
            args[i] = args[i].detach().clone().requires_grad_()
    return args


@pytest.mark.parametrize(
    "cell, attention, feeding, sampled, dropout",
    [
        ("lstm", "bahdanau", True, False, False),
        ("gru", "bahdanau", True, True, True),
        ("gru", "luong-general", True, True, False),
        ("rnn_tanh", "luong-dot", False, True, True),
        ("rnn_relu", "none", False, True, False),
    ],
)
def test_gradcheck(cell, attention, feeding, sampled, dropout):
    args = differentiable(op_arguments(cell, attention, feeding, batch=2))
    # No padding row: a sampled step may feed the PAD the model predicts, whose
    # embedding row gets no gradient with padding_idx, though the logits depend on it.
    args[11] = -1
    if sampled:
        args[9] = torch.tensor([[True, False, True, False], [True, True, False, False]])
    if dropout:
        torch.manual_seed(4)
        args[10] = (
            make_model(cell, attention, feeding, False, dropout=0.5)
            .train()
            .decoder.dropout_masks(4, 2, like=args[5])
        )
    weights, states = args[0], args[4]
    leaves = [*weights, *states, args[5]] + ([args[7]] if args[7] is not None else [])
    counts = len(weights), len(states)

    def logits(*tensors):
        w, rest = list(tensors[: counts[0]]), tensors[counts[0] :]
        s, rest = list(rest[: counts[1]]), rest[counts[1] :]
        keys_proj = rest[1] if len(rest) > 1 else None
        call = args[:]
        call[0], call[4], call[5], call[7] = w, s, rest[0], keys_proj
        return getattr(torch.ops.seq2seq_ext, OP)(*call)[0]

    assert torch.autograd.gradcheck(logits, leaves, eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("cell, attention", [("lstm", "bahdanau"), ("gru", "luong-dot")])
def test_opcheck(cell, attention):
    torch.library.opcheck(
        getattr(torch.ops.seq2seq_ext, OP).default, differentiable(op_arguments(cell, attention))
    )


def test_the_backward_op_has_a_fake_kernel():
    args = op_arguments()
    logits, *saved = getattr(torch.ops.seq2seq_ext, OP)(*args)
    backward_args = [torch.ones_like(logits), *args[:8], *args[10:], *saved]
    torch.library.opcheck(
        getattr(torch.ops.seq2seq_ext, OP + "_backward").default,
        backward_args,
        test_utils=("test_schema", "test_faketensor"),
    )


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: a.__setitem__(8, a[8].int()), "tgt_in of dtype int64 and shape"),
        (lambda a: a.__setitem__(8, a[8][:2]), r"tgt_in of dtype int64 and shape \(3, steps\)"),
        (
            lambda a: a.__setitem__(9, torch.ones(3, 2, dtype=torch.bool)),
            "use_truth of dtype Bool and shape",
        ),
        (lambda a: a.__setitem__(11, TGT_VOCAB), "padding_idx 11 is outside"),
        (lambda a: a.__setitem__(10, [a[5].new_ones(4, 3, 8)]), "dropout to be empty or 3 masks"),
        (
            lambda a: a.__setitem__(10, [a[5].new_ones(4, 3, 8)] * 3),
            r"dropout mask between layers of shape \[1, 4, 3, 16\]",
        ),
        (lambda a: a.__setitem__(0, a[0][:-1]), "expected 15 weights .* got 14"),
        (lambda a: a.__setitem__(6, a[6].int()), "mask of dtype Bool"),
    ],
)
def test_bad_arguments_get_clear_errors_and_change_nothing(change, message):
    args = op_arguments()
    change(args)
    before = [t.clone() for t in [*args[0], *args[4], args[5]]]
    with pytest.raises(RuntimeError, match=message):
        getattr(torch.ops.seq2seq_ext, OP)(*args)
    for a, b in zip([*args[0], *args[4], args[5]], before):
        assert torch.equal(a, b)


def test_bad_saved_tensors_get_clear_errors():
    args = op_arguments()
    logits, *saved = getattr(torch.ops.seq2seq_ext, OP)(*args)
    backward = getattr(torch.ops.seq2seq_ext, OP + "_backward")
    saved[2] = saved[2][:, 1:]  # hidden, one row short
    with pytest.raises(RuntimeError, match="expected hidden of shape"):
        backward(torch.ones_like(logits), *args[:8], *args[10:], *saved)
    with pytest.raises(RuntimeError, match="expected grad_logits of shape"):
        backward(logits[:, 1:], *args[:8], *args[10:], *saved)


def test_double_backward_gets_a_clear_error():
    """One backward (the cell, layer and attention ops give a double backward
    through their references; this op has none): create_graph=True is refused
    by name rather than failing inside the backward op."""
    args = differentiable(op_arguments())
    logits = getattr(torch.ops.seq2seq_ext, OP)(*args)[0]
    with pytest.raises(RuntimeError, match=f"seq2seq_ext::{OP} supports one backward"):
        torch.autograd.grad(logits.square().sum(), args[0][1], create_graph=True)


# ------------------------------------------------------------ where it runs


def test_where_the_op_runs(monkeypatch):
    model = make_model("gru", "bahdanau", True, False, dropout=0.3)
    assert loop_op_serves(model.eval(), OP, "cpu")
    assert loop_op_serves(model.train(), OP, "cpu"), "it takes dropout masks"
    assert not search.decoding_ops_serve(model.train(), "cpu"), "decoding has no dropout"
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not loop_op_serves(model.eval(), OP, "cpu"), "the modules would autocast"
        assert not search.decoding_ops_serve(model.eval(), "cpu")
    torch_model = make_model("gru", "bahdanau", True, False, backend="torch")
    assert not loop_op_serves(torch_model, OP, "cpu")
    src, lengths = make_source(batch=2)
    tgt = make_target(2)
    with pytest.raises(ValueError, match="backend='fused'"):
        torch_model(src, lengths, tgt, loop="cpp")
    steps, step = [], model.decoder.step
    monkeypatch.setattr(model.decoder, "step", lambda *args: steps.append(1) or step(*args))
    model.eval()(src, lengths, tgt)
    model.train()(src, lengths, tgt)
    assert steps == []  # the C++ loop never calls the decoder module
    with torch.autocast("cpu", dtype=torch.bfloat16):
        model(src, lengths, tgt)  # the Python loop
    assert len(steps) == tgt.shape[1] - 1


def test_torch_compile_traces_the_op_and_its_backward():
    args = differentiable(op_arguments())
    op = getattr(torch.ops.seq2seq_ext, OP)

    def loss(weights, state, values, keys_proj):
        call = args[:]
        call[0], call[4], call[5], call[7] = weights, state, values, keys_proj
        return op(*call)[0].square().sum()

    leaves = [*args[0], *args[4], args[5], args[7]]
    expected = torch.autograd.grad(loss(args[0], args[4], args[5], args[7]), leaves)
    compiled = torch.compile(loss, fullgraph=True)
    ours = torch.autograd.grad(compiled(args[0], args[4], args[5], args[7]), leaves)
    for a, b in zip(ours, expected):
        torch.testing.assert_close(a, b)
