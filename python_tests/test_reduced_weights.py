"""Reduced-precision decoding weights (Seq2Seq.for_inference, the op
seq2seq_ext::reduced_linear): the kernel against float64 on the dequantized
weights, on every instruction set this CPU has (SEQ2SEQ_EXT_CPU_ISA); decoding
with bfloat16 / int8 weights against decoding with the float32 weights they
stand for; saving and loading; bad inputs. (The quality of trained models with
reduced weights: test_examples.py.)"""

import copy

import pytest
import torch
from conftest import assert_passes_under_isa_cap, requires_cuda
from test_decoding_ops import DECODERS, make_model, make_source

from seq2seq_ext.models import InferenceSeq2Seq, Seq2Seq
from seq2seq_ext.models.inference import quantize_rows

PRECISIONS = ["bfloat16", "int8"]
reduced_linear = torch.ops.seq2seq_ext.reduced_linear


def reduced(weight, precision):
    """(stored weight, scale or None, the float64 weight it stands for)."""
    if precision == "bfloat16":
        stored = weight.to(torch.bfloat16)
        return stored, None, stored.double()
    q, scale = quantize_rows(weight)
    return q, scale, q.double() * scale.double()[:, None]


# ---------------------------------------------------------------- the kernel


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("rows", [0, 1, 2, 3, 5, 6, 11])
@pytest.mark.parametrize(
    "out_features, in_features", [(1, 1), (7, 15), (9, 16), (33, 17), (64, 256)]
)
def test_kernel_equals_float64_on_the_dequantized_weights(
    precision, rows, out_features, in_features
):
    """Every tile of the kernel (rows of x in groups, weight rows in fours and
    the rest, the vector loop and its tail), with and without bias."""
    x = torch.randn(rows, in_features)
    weight, bias = torch.randn(out_features, in_features), torch.randn(out_features)
    stored, scale, exact = reduced(weight, precision)
    expected = x.double() @ exact.t()
    for b in (None, bias):
        ours = reduced_linear(x, stored, scale, b)
        want = expected + b.double() if b is not None else expected
        assert ours.dtype == torch.float32 and ours.shape == (rows, out_features)
        torch.testing.assert_close(ours.double(), want, rtol=1e-5, atol=1e-5 * in_features**0.5)


@pytest.mark.parametrize("precision", PRECISIONS)
def test_kernel_takes_leading_dimensions_and_strided_tensors(precision):
    weight = torch.randn(12, 20)
    stored, scale, exact = reduced(weight, precision)
    x = torch.randn(2, 20, 3).transpose(1, 2)  # (2, 3, 20), not contiguous
    strided = torch.empty(12, 40, dtype=stored.dtype)[:, ::2]
    strided.copy_(stored)
    ours = reduced_linear(x, strided, scale)
    assert ours.shape == (2, 3, 12)
    torch.testing.assert_close(ours.double(), x.double() @ exact.t(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("isa", ["baseline", "avx2"])
def test_every_instruction_set_copy(isa):
    """The kernel tests again with SEQ2SEQ_EXT_CPU_ISA capping the copy in use
    (the portable one, then AVX2: the machine's best runs above)."""
    selection = "(kernel or decodes_as or isa_in_use) and not cuda"
    assert_passes_under_isa_cap(["test_reduced_weights.py"], selection, isa)


def test_isa_in_use():
    """What the kernels run on: the cap when one is set, and one of the three."""
    import os

    isa = torch.ops.seq2seq_ext.cpu_isa()
    assert isa in ("baseline", "avx2", "avx512")
    expected = os.environ.get("SEQ2SEQ_EXT_EXPECTED_ISA")
    if expected is not None:
        assert isa == expected or (expected == "avx2" and isa == "baseline"), isa


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: a.update(weight=a["weight"].float()), "weight of dtype int8 or bfloat16"),
        (lambda a: a.update(scale=None), "is int8 and needs its per-row scales"),
        (lambda a: a.update(scale=a["scale"][:-1]), "weight scale of shape"),
        (lambda a: a.update(scale=a["scale"].double()), "weight scale to have dtype Float"),
        (lambda a: a.update(input=a["input"].double()), "run on the CPU in float32"),
        (lambda a: a.update(input=a["input"][:, :-1]), r"expected input of shape \(\.\.\., 8\)"),
        (lambda a: a.update(bias=a["bias"][:-1]), "expected bias of shape"),
        (
            lambda a: a.update(weight=a["weight"][0]),
            r"expected weight of shape \(out_features, in_features\), got a 1-D",
        ),
        (
            lambda a: a.update(weight=a["weight"].bfloat16()),
            "is BFloat16, which has no scales",
        ),
    ],
)
def test_kernel_bad_arguments(change, message):
    weight, scale = quantize_rows(torch.randn(5, 8))
    args = dict(input=torch.randn(3, 8), weight=weight, scale=scale, bias=torch.randn(5))
    change(args)
    with pytest.raises(RuntimeError, match=message):
        reduced_linear(**args)


def test_kernel_opcheck():
    weight, scale = quantize_rows(torch.randn(5, 8))
    for args in ((torch.randn(3, 8), weight, scale, torch.randn(5)), (torch.randn(2, 8), weight)):
        if len(args) == 2:
            args = (args[0], weight.bfloat16(), None, None)
        torch.library.opcheck(
            reduced_linear.default, args, test_utils=("test_schema", "test_faketensor")
        )


@requires_cuda
def test_kernel_on_cuda_is_a_clear_error():
    weight, scale = quantize_rows(torch.randn(5, 8))
    with pytest.raises(RuntimeError, match="run on the CPU in float32"):
        reduced_linear(torch.randn(3, 8, device="cuda"), weight.cuda(), scale.cuda())


# ---------------------------------------------------------------- decoding


def dequantized_model(model, precision):
    """A float32 copy of `model` whose reducible decoder matrices hold what
    their reduced copies stand for."""
    copy_ = copy.deepcopy(model)
    with torch.no_grad():
        for _, weight, reducible in copy_.decoder.decoding_weights():
            if reducible:
                weight.copy_(reduced(weight, precision)[2])
    return copy_


def assert_decodes_alike(ours, expected):
    """Same tokens and lengths; scores and attention within float32 rounding
    (the kernels sum in another order than oneDNN)."""
    assert torch.equal(ours.tokens, expected.tokens)
    assert torch.equal(ours.lengths, expected.lengths)
    torch.testing.assert_close(ours.scores, expected.scores, rtol=1e-4, atol=1e-4)
    if expected.attention is None:
        assert ours.attention is None
    else:
        torch.testing.assert_close(ours.attention, expected.attention, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh", "rnn_relu"])
@pytest.mark.parametrize("decoder", DECODERS, ids=lambda d: "-".join(map(str, d)))
def test_reduced_model_decodes_as_its_dequantized_float_model(precision, cell, decoder):
    """Greedy and beam search, batch 1 (the matrix-vector path), 5, and empty."""
    model = make_model(cell, *decoder, seed=2)
    expected_model = dequantized_model(model, precision)
    inference = model.for_inference(precision)
    for batch in (1, 5, 0):
        src, lengths = make_source(batch)
        assert_decodes_alike(
            inference.greedy_decode(src, lengths, 9), expected_model.greedy_decode(src, lengths, 9)
        )
        assert_decodes_alike(
            inference.beam_search(src, lengths, 3, 9, 0.5),
            expected_model.beam_search(src, lengths, 3, 9, 0.5),
        )


def test_float32_copy_decodes_bit_for_bit_as_the_model():
    model = make_model("lstm", "bahdanau", True, True)
    inference = model.for_inference()
    src, lengths = make_source(4)
    for run in (
        lambda m: m.greedy_decode(src, lengths, 9),
        lambda m: m.beam_search(src, lengths, 3, 9, 0.7),
    ):
        ours, theirs = run(inference), run(model)
        for x, y in zip(ours, theirs):
            assert torch.equal(x, y)


@pytest.mark.parametrize("precision", PRECISIONS)
def test_the_stored_weights(precision):
    """The matrices reduced (and int8's scales), everything else float32 and
    equal to the model's; the model itself unchanged."""
    model = make_model("gru", "bahdanau", False, True)
    before = copy.deepcopy(model.state_dict())
    buffers = model.for_inference(precision).decoder
    dtype = torch.int8 if precision == "int8" else torch.bfloat16
    for name, weight, reducible in model.decoder.decoding_weights():
        stored = getattr(buffers, name.replace(".", "_"))
        if reducible:
            assert stored.dtype == dtype
            assert hasattr(buffers, name.replace(".", "_") + "_scale") == (precision == "int8")
        else:
            assert stored.dtype == torch.float32 and torch.equal(stored, weight)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_quantize_rows():
    weight = torch.tensor([[0.5, -1.0, 0.25], [0.0, 0.0, 0.0], [3.0, 2.0, -1.5]])
    q, scale = quantize_rows(weight)
    assert q.dtype == torch.int8 and scale.dtype == torch.float32
    assert q.tolist() == [[64, -127, 32], [0, 0, 0], [127, 85, -64]]
    torch.testing.assert_close(scale, torch.tensor([1 / 127, 1.0, 3 / 127]))


@pytest.mark.parametrize("precision", ["float32", *PRECISIONS])
def test_save_and_load(tmp_path, precision):
    model = make_model("lstm", "luong-general", True, True)
    inference = model.for_inference(precision)
    inference.save(tmp_path / "model.pt")
    loaded = InferenceSeq2Seq.load(tmp_path / "model.pt")
    assert loaded.precision == precision and loaded.config == model.config
    for key, value in inference.state_dict().items():
        assert value.dtype == loaded.state_dict()[key].dtype
        assert torch.equal(value, loaded.state_dict()[key]), key
    src, lengths = make_source(3)
    for x, y in zip(inference.beam_search(src, lengths, 2), loaded.beam_search(src, lengths, 2)):
        assert torch.equal(x, y)


def test_load_of_a_training_checkpoint_is_a_clear_error(tmp_path):
    from seq2seq_ext.checkpoint import save_checkpoint

    model = make_model("gru", "none", False, False)
    save_checkpoint(tmp_path / "train.pt", {"model_config": model.config.to_dict()})
    with pytest.raises(ValueError, match="holds no for_inference"):
        InferenceSeq2Seq.load(tmp_path / "train.pt")


def test_what_a_decoding_only_copy_refuses():
    model = make_model("gru", "bahdanau", False, False)
    with pytest.raises(ValueError, match="weights must be one of"):
        model.for_inference("int4")
    inference = model.for_inference("int8")
    src, lengths = make_source(2)
    with pytest.raises(RuntimeError, match="only decodes"):
        inference.train()
    with pytest.raises(RuntimeError, match="only decodes"):
        inference(src, lengths)
    with pytest.raises(ValueError, match="only in the C\\+\\+ loop"):
        inference.greedy_decode(src, lengths, loop="python")
    with pytest.raises(ValueError, match="beam_size must be >= 1"):
        inference.beam_search(src, lengths, 0)


@requires_cuda
def test_reduced_weights_on_cuda_are_a_clear_error():
    model = make_model("gru", "bahdanau", False, False)
    src, lengths = make_source(2, device="cuda")
    with pytest.raises(ValueError, match="run on the CPU only"):
        model.for_inference("int8").cuda().greedy_decode(src, lengths)
    float_copy = model.cuda().for_inference("float32")
    ours, theirs = float_copy.greedy_decode(src, lengths), model.greedy_decode(src, lengths)
    assert torch.equal(ours.tokens, theirs.tokens)


# ---------------------------------------------------------------- the ops' arguments


def op_call(model, precision, batch=2):
    """(op arguments, scales) of a reduced copy of `model`."""
    inference = model.for_inference(precision)
    src, lengths = make_source(batch)
    with torch.no_grad():
        memory, state = inference.encode(src, lengths)
    args = list(inference.decoder.decoding_op_arguments(memory, state)) + [1, 2, 0, 6]
    return args, inference.decoder.scales()


def test_decoding_op_scales_must_match_the_int8_matrices():
    model = make_model("gru", "bahdanau", False, True)
    args, scales = op_call(model, "int8")
    greedy = torch.ops.seq2seq_ext.greedy_decode
    with pytest.raises(RuntimeError, match="is int8, but scales holds no scales for it"):
        greedy(*args, scales[:-1])
    with pytest.raises(RuntimeError, match="expected 7 scales .* got 8"):
        greedy(*args, scales + [scales[0]])
    with pytest.raises(RuntimeError, match="layer 0 w_hh scale of shape"):
        greedy(*args, [scales[0], scales[1][:-1], *scales[2:]])
    bf16_args, no_scales = op_call(model, "bfloat16")
    assert no_scales == []
    with pytest.raises(RuntimeError, match="expected 0 scales .* got 1"):
        greedy(*bf16_args, scales[:1])


def test_reduced_weights_need_float32_values():
    """int8 weights need float32 values; bfloat16 weights against float64
    values are a dtype mismatch (against bfloat16 values, a bfloat16 model)."""
    model = make_model("lstm", "none", False, False)
    for precision, message in (
        ("int8", "run on the CPU in float32, got Double"),
        ("bfloat16", "w_ih to have dtype Double like values, got BFloat16"),
    ):
        args, scales = op_call(model, precision)
        args[5] = args[5].double()  # values
        args[4] = [s.double() for s in args[4]]
        args[0] = [w.double() if w.dtype == torch.float32 else w for w in args[0]]
        with pytest.raises(RuntimeError, match=message):
            torch.ops.seq2seq_ext.greedy_decode(*args, scales)


def test_the_training_pass_refuses_reduced_weights():
    model = make_model("gru", "bahdanau", True, False)
    args, _ = op_call(model, "bfloat16")
    tgt_in = torch.ones(2, 3, dtype=torch.long)
    with pytest.raises(
        RuntimeError, match="training pass takes weights of the values' Float, got one of BFloat16"
    ):
        torch.ops.seq2seq_ext.decoder_stepwise_pass(*args[:8], tgt_in, None, [], 0)


def test_a_model_on_the_torch_backend_has_a_reduced_copy_too():
    """The copy's encoder keeps the backend; its decoder runs the ops."""
    torch.manual_seed(0)
    fused = make_model("gru", "bahdanau", False, True)
    torch_model = Seq2Seq(type(fused.config)(**{**fused.config.to_dict(), "backend": "torch"}))
    torch_model.load_state_dict(fused.state_dict())
    src, lengths = make_source(3)
    ours = torch_model.eval().for_inference("int8").greedy_decode(src, lengths, 9)
    assert_decodes_alike(ours, fused.for_inference("int8").greedy_decode(src, lengths, 9))
