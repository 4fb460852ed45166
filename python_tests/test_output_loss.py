"""The fused output layer and cross-entropy (seq2seq_ext::output_cross_entropy,
csrc/loss/): the loss and gradients of torch's F.linear + F.cross_entropy
(the reference) at real sizes, padding rows left out, in every dtype;
gradcheck in float64; opcheck; edge cases (no rows, every row ignored, no
bias, non-contiguous arguments, one chunk or many); bad arguments; and the
model's use of it (Seq2Seq.forward(project=False) and decoder.output_loss,
on both loops and both backends)."""

import pytest
import torch
import torch.nn.functional as F
from conftest import TOLERANCES, assert_close_scaled, requires_cuda

from seq2seq_ext import functional, reference
from seq2seq_ext._ops import KERNELS
from seq2seq_ext.models import Seq2Seq, Seq2SeqConfig

OP = torch.ops.seq2seq_ext.output_cross_entropy
PAD = 0


def make_inputs(rows=300, hidden=64, vocab=3000, dtype=torch.float32, ignored_every=4, seed=0):
    """hidden (rows, H), weight (V, H), bias (V), target (rows) with every
    `ignored_every`-th target PAD; logits of a trained model's size."""
    generator = torch.Generator().manual_seed(seed)
    hidden_ = torch.randn(rows, hidden, generator=generator, dtype=torch.float64)
    weight = torch.randn(vocab, hidden, generator=generator, dtype=torch.float64) / hidden**0.5
    bias = torch.randn(vocab, generator=generator, dtype=torch.float64)
    target = torch.randint(1, vocab, (rows,), generator=generator)
    if ignored_every:
        target[::ignored_every] = PAD
    return [t.to(dtype).requires_grad_() for t in (hidden_, weight, bias)] + [target]


def loss_and_grads(fn, hidden, weight, bias, target, scale=0.37):
    leaves = [t for t in (hidden, weight, bias) if t is not None]
    loss = fn(hidden, weight, bias, target, PAD)
    grads = torch.autograd.grad(loss * scale, leaves)
    return loss.detach(), grads


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize(
    "rows, vocab", [(300, 3000), (2500, 700), (5, 40000)], ids=["one chunk", "chunks", "wide"]
)
def test_equals_linear_then_cross_entropy(dtype, rows, vocab):
    """The reference is an output layer and torch's cross-entropy; a chunk
    holds about 4 MiB of logits, so 2500 rows of 700 come in two chunks."""
    inputs = make_inputs(rows, 64, vocab, dtype)
    ours, our_grads = loss_and_grads(functional.output_cross_entropy, *inputs)
    expected, expected_grads = loss_and_grads(reference.output_cross_entropy, *inputs)
    tol = TOLERANCES[dtype]
    assert_close_scaled(ours, expected, tol, "loss")
    for name, a, b in zip(("hidden", "weight", "bias"), our_grads, expected_grads):
        assert_close_scaled(a, b, tol, f"grad of {name}")
    assert our_grads[0][::4].eq(0).all()  # PAD rows: no gradient


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_types_compute_in_float32(dtype):
    inputs = make_inputs(200, 32, 500, dtype)
    ours, our_grads = loss_and_grads(functional.output_cross_entropy, *inputs)
    as_float64 = [t.double().detach().requires_grad_() for t in inputs[:3]] + [inputs[3]]
    expected, expected_grads = loss_and_grads(reference.output_cross_entropy, *as_float64)
    assert ours.dtype == dtype and all(g.dtype == dtype for g in our_grads)
    assert_close_scaled(ours.double(), expected, TOLERANCES[dtype], "loss")
    for a, b in zip(our_grads, expected_grads):
        assert_close_scaled(a.double(), b, TOLERANCES[dtype], "gradient")


def test_gradcheck():
    hidden, weight, bias, target = make_inputs(9, 5, 11, torch.float64, ignored_every=3)
    assert torch.autograd.gradcheck(
        lambda h, w, b: functional.output_cross_entropy(h, w, b, target, PAD),
        (hidden, weight, bias),
    )
    assert torch.autograd.gradcheck(
        lambda h, w: functional.output_cross_entropy(h, w, None, target, PAD), (hidden, weight)
    )


def test_opcheck():
    for compute_grads in (True, False):
        hidden, weight, bias, target = make_inputs(7, 4, 9, torch.float64, ignored_every=2)
        if not compute_grads:
            hidden, weight, bias = (t.detach() for t in (hidden, weight, bias))
        torch.library.opcheck(
            OP.default, (hidden, weight, bias, target, PAD, compute_grads), atol=1e-10, rtol=0
        )
    torch.library.opcheck(OP.default, (hidden, weight, None, target, -100, False))


def test_edge_cases():
    """No rows, every row ignored (a zero loss and zero gradients), no bias,
    non-contiguous arguments, ignore_index outside the vocabulary."""
    for rows, ignored_every in ((0, 0), (6, 1)):
        inputs = make_inputs(rows, 8, 20, torch.float64, ignored_every)
        loss, grads = loss_and_grads(functional.output_cross_entropy, *inputs)
        assert loss.item() == 0.0 and all(g.eq(0).all() for g in grads)
        assert [g.shape for g in grads] == [t.shape for t in inputs[:3]]
    hidden, weight, bias, target = (t.detach() for t in make_inputs(50, 16, 30, torch.float64))
    strided = (hidden[:, ::2], weight.t().contiguous().t()[:, ::2], bias.repeat(2)[::2])
    strided = [t.requires_grad_() for t in strided]
    assert not any(t.is_contiguous() for t in strided)
    for fn_inputs in ((strided[0], strided[1], None, target), (*strided, target)):
        ours, our_grads = loss_and_grads(functional.output_cross_entropy, *fn_inputs)
        expected, expected_grads = loss_and_grads(reference.output_cross_entropy, *fn_inputs)
        assert_close_scaled(ours, expected, 1e-10, "loss")
        for a, b in zip(our_grads, expected_grads):
            assert_close_scaled(a, b, 1e-10, "gradient")
    target = target.clamp(min=1)
    no_padding = OP(strided[0], strided[1], None, target, -100, False)[0]
    expected = F.cross_entropy(strided[0] @ strided[1].t(), target, reduction="sum")
    assert_close_scaled(no_padding, expected.detach(), 1e-10, "loss without ignore_index")


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: a.__setitem__(3, a[3].int()), r"target of dtype int64 and shape \[12\]"),
        (lambda a: a.__setitem__(3, a[3][:5]), r"target of dtype int64 and shape \[12\]"),
        (lambda a: a.__setitem__(1, a[1][:, :3]), r"expected weight of shape \[20, 8\]"),
        (lambda a: a.__setitem__(2, a[2][:4]), r"expected bias of shape \[20\]"),
        (lambda a: a.__setitem__(1, a[1].float()), "weight"),
        (lambda a: a[3].__setitem__(2, 20), r"target 20 is outside \[0, 20\)"),
        (lambda a: a[3].__setitem__(2, -3), r"target -3 is outside \[0, 20\)"),
        (lambda a: a.__setitem__(0, a[0][0]), "hidden"),
    ],
)
def test_bad_arguments_get_clear_errors_and_change_nothing(change, message):
    args = [t.detach() for t in make_inputs(12, 8, 20, torch.float64, ignored_every=5)]
    args += [PAD, True]
    change(args)
    before = [t.clone() for t in args[:4]]
    with pytest.raises(RuntimeError, match=f"output_cross_entropy: .*{message}"):
        OP(*args)
    assert all(torch.equal(a, b) for a, b in zip(args[:4], before))


def test_gradients_need_compute_grads_and_there_is_no_double_backward():
    hidden, weight, bias, target = make_inputs(6, 4, 9, torch.float64)
    loss = OP(hidden, weight, bias, target, PAD, False)[0]
    with pytest.raises(RuntimeError, match="compute_grads=False, so it has no gradients"):
        loss.backward()
    loss = functional.output_cross_entropy(hidden, weight, bias, target, PAD)
    with pytest.raises(RuntimeError, match="supports one backward, not a double backward"):
        torch.autograd.grad(loss, hidden, create_graph=True)
    with torch.no_grad():  # no gradients wanted: none computed
        _, grad_hidden, grad_weight, _ = OP(hidden, weight, bias, target, PAD, False)
    assert grad_hidden.numel() == grad_weight.numel() == 0


def test_autocast_leaves_it_in_float32():
    inputs = make_inputs(20, 8, 30, torch.float32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ours = functional.output_cross_entropy(*inputs, PAD)
    assert ours.dtype == torch.float32
    expected = reference.output_cross_entropy(*inputs, PAD)
    assert_close_scaled(ours.detach(), expected.detach(), 1e-5, "loss under autocast")


def test_torch_compile_traces_the_op_and_its_backward():
    hidden, weight, bias, target = make_inputs(40, 8, 30, torch.float32)

    def loss(hidden, weight, bias):
        return functional.output_cross_entropy(hidden.tanh(), weight, bias, target, PAD) / 7

    leaves = (hidden, weight, bias)
    expected = torch.autograd.grad(loss(*leaves), leaves)
    compiled = torch.compile(loss, fullgraph=True, backend="aot_eager")
    for a, b in zip(torch.autograd.grad(compiled(*leaves), leaves), expected):
        torch.testing.assert_close(a, b)


@requires_cuda
def test_cuda_runs_the_reference():
    """No CUDA kernel: functional falls back to the reference there."""
    assert not KERNELS[("output_cross_entropy", "cuda")]
    inputs = [t.detach().cuda() for t in make_inputs(20, 8, 30, torch.float32)]
    loss = functional.output_cross_entropy(*inputs, PAD)
    assert_close_scaled(loss, reference.output_cross_entropy(*inputs, PAD), 1e-4, "loss")


# ------------------------------------------------------------ in the model


def make_model(backend, feeding, dropout=0.0):
    torch.manual_seed(0)
    config = Seq2SeqConfig(
        23, 31, embedding_size=8, hidden_size=12, cell="gru", bidirectional=True,
        input_feeding=feeding, dropout=dropout, backend=backend,
    )  # fmt: skip
    return Seq2Seq(config).double()


def make_batch():
    generator = torch.Generator().manual_seed(1)
    src = torch.randint(4, 23, (5, 6), generator=generator)
    lengths = torch.tensor([6, 4, 6, 2, 5])
    tgt = torch.randint(4, 31, (5, 7), generator=generator)
    tgt[:, 0] = 1
    tgt[2, 4:] = PAD
    return src, lengths, tgt


@pytest.mark.parametrize("backend", ["fused", "torch"])
@pytest.mark.parametrize("loop", ["cpp", "python"])
@pytest.mark.parametrize("feeding", [False, True])
def test_the_output_loss_is_the_cross_entropy_of_the_logits(backend, loop, feeding):
    """forward(project=False) gives what the output layer reads (dropout
    included: the same masks drawn), and decoder.output_loss the summed
    cross-entropy of the logits, with the same gradients for every weight."""
    if loop == "cpp" and (backend == "torch" or not feeding):
        pytest.skip("the C++ loop runs the fused backend's step-by-step pass")
    model = make_model(backend, feeding, dropout=0.3).train()
    src, lengths, tgt = make_batch()
    targets = tgt[:, 1:]

    def loss_and_grads(project):
        torch.manual_seed(5)
        out = model(src, lengths, tgt, loop=loop if feeding else "auto", project=project)
        if project:
            loss = F.cross_entropy(out.flatten(0, 1), targets.flatten(), ignore_index=PAD,
                                   reduction="sum")  # fmt: skip
        else:
            assert out.shape == (*targets.shape, 12)
            loss = model.decoder.output_loss(out, targets)
        return loss.detach(), torch.autograd.grad(loss, list(model.parameters()))

    ours, our_grads = loss_and_grads(False)
    expected, expected_grads = loss_and_grads(True)
    assert_close_scaled(ours, expected, 1e-10, "loss")
    for (name, _), a, b in zip(model.named_parameters(), our_grads, expected_grads):
        assert_close_scaled(a, b, 1e-10, f"grad of {name}")


def test_where_the_fused_loss_serves(monkeypatch):
    """The fused backend runs the op (outside autocast), the torch backend torch's
    cross-entropy; scheduled sampling needs the logits."""
    calls = []
    original = torch.ops.seq2seq_ext.output_cross_entropy

    class Spy:
        def __call__(self, *args):
            calls.append(args[0].shape)
            return original(*args)

    monkeypatch.setattr(torch.ops.seq2seq_ext, "output_cross_entropy", Spy())
    src, lengths, tgt = make_batch()
    for backend in ("fused", "torch"):
        model = make_model(backend, feeding=False)
        model.decoder.output_loss(model(src, lengths, tgt, project=False), tgt[:, 1:])
    assert calls == [torch.Size([30, 12])]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        model = make_model("fused", feeding=False).float()
        loss = model.decoder.output_loss(model(src, lengths, tgt, project=False), tgt[:, 1:])
    assert len(calls) == 1 and loss.dtype == torch.float32
    with pytest.raises(ValueError, match="scheduled sampling .* needs project=True"):
        model(src, lengths, tgt, 0.5, project=False)


def test_the_stepwise_pass_without_the_output_layer_passes_opcheck():
    """decoder_stepwise_pass(project=False): its fake kernel and autograd give
    the output layer's input, and no gradient for the output layer."""
    from test_stepwise_pass import differentiable, op_arguments

    args = differentiable(op_arguments("lstm", "bahdanau")) + [False]
    op = torch.ops.seq2seq_ext.decoder_stepwise_pass
    torch.library.opcheck(op.default, args)
    outputs = op(*args)[0]
    assert outputs.shape == (*args[8].shape, args[4][0].shape[2])
    grads = torch.autograd.grad(outputs.sum(), args[0], allow_unused=True)
    assert grads[-2] is None and grads[-1] is None and grads[-3] is not None
