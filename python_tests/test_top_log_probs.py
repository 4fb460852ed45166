"""The decoding ops' fused scoring of a step on the CPU (seq2seq_ext::top_log_probs:
the output layer, log-softmax and each row's best tokens in one pass over the
weight, csrc/decoding/top_log_probs.h): against float64 log_softmax(x W^T + b)
for float32, bfloat16 and int8 weights, in both of its ways (the fused pass
for a few rows, a GEMM first for many), every vocabulary block size and on
every instruction set copy; ties, -inf and NaN logits, k above the vocabulary,
empty inputs, thread counts; bad inputs, fake kernel and schema. Beam search
on it: test_decoding_ops.py, and the choice among tied candidates below."""

import pytest
import torch
from conftest import TOLERANCES, assert_close_scaled, assert_passes_under_isa_cap, requires_cuda
from test_reduced_weights import test_isa_in_use  # noqa: F401 (run here too, under each cap)

from seq2seq_ext.models.inference import quantize_rows

top_log_probs = torch.ops.seq2seq_ext.top_log_probs
FUSED_ROWS = 8  # csrc/decoding/cpu/top_log_probs.cpp: above, the GEMM comes first
BLOCK = 128  # its vocabulary block


def stored(weight, precision):
    """(the weight as the op takes it, its scale or None, the float64 weight it stands for)."""
    if precision == "float32":
        return weight, None, weight.double()
    if precision == "bfloat16":
        return weight.bfloat16(), None, weight.bfloat16().double()
    q, scale = quantize_rows(weight)
    return q, scale, q.double() * scale.double()[:, None]


def reference(x, weight64, bias, k):
    """float64: each row's k best tokens by logit (ties to the lower token) and
    their log_softmax."""
    logits = x.double() @ weight64.t()
    if bias is not None:
        logits = logits + bias.double()
    order = torch.sort(logits, dim=1, descending=True, stable=True).indices[:, :k]
    return torch.log_softmax(logits, dim=1).gather(1, order), order


def assert_scores(x, weight, bias, k, precision="float32"):
    op_weight, scale, weight64 = stored(weight, precision)
    log_probs, tokens = top_log_probs(x, op_weight, scale, bias, k)
    expected, expected_tokens = reference(x, weight64, bias, k)
    assert log_probs.dtype == torch.float32 and tokens.dtype == torch.int64
    assert torch.equal(tokens, expected_tokens)
    assert_close_scaled(log_probs.double(), expected, TOLERANCES[torch.float32], "log_probs")
    return log_probs, tokens


@pytest.mark.parametrize("precision", ["float32", "bfloat16", "int8"])
@pytest.mark.parametrize("rows", [1, 2, 5, FUSED_ROWS, FUSED_ROWS + 1, 20])
@pytest.mark.parametrize(
    "vocab, in_features", [(1, 3), (7, 15), (BLOCK, 16), (BLOCK + 1, 17), (1000, 64)]
)
@pytest.mark.parametrize("k", [1, 4])
def test_equals_float64_log_softmax_and_top_k(precision, rows, vocab, in_features, k):
    """Both ways (rows up to FUSED_ROWS: the fused pass; more: the GEMM first),
    a vocabulary of one block, of a block and one, of several and a part."""
    torch.manual_seed(rows * 1000 + vocab)
    x, weight = torch.randn(rows, in_features), torch.randn(vocab, in_features)
    for bias in (None, torch.randn(vocab)):
        assert_scores(x, weight, bias, k, precision)


def test_the_decoding_size():
    """A beam of 5 on the one-sentence benchmark's output layer (H 256, V 8000),
    and the large model's 256 rows (beam 4 of 64 sentences) on a smaller vocabulary."""
    torch.manual_seed(0)
    weight, bias = torch.randn(8000, 256) / 16, torch.randn(8000)
    assert_scores(torch.randn(5, 256), weight, bias, 5)
    assert_scores(torch.randn(256, 64), torch.randn(1000, 64) / 8, torch.randn(1000), 4)


@pytest.mark.parametrize("rows", [3, FUSED_ROWS + 3])
@pytest.mark.parametrize("precision", ["float32", "bfloat16", "int8"])
def test_ties_go_to_the_lower_token(rows, precision):
    """A zero weight: the logits are the bias, whose ties lie in one block, across
    blocks and across the threads' shares of the blocks."""
    vocab = 8 * BLOCK + 3
    bias = torch.full((vocab,), -1.0)
    bias[[vocab - 1, 5, 3 * BLOCK, 7 * BLOCK + 1]] = 2.0
    bias[[6, BLOCK, 4]] = 1.0
    weight = torch.zeros(vocab, 16)
    op_weight, scale, _ = stored(weight, precision)
    for threads in (1, 2):
        with torch_threads(threads):
            _, tokens = top_log_probs(torch.randn(rows, 16), op_weight, scale, bias, 8)
        best = [5, 3 * BLOCK, 7 * BLOCK + 1, vocab - 1, 4, 6, BLOCK, 0]
        assert tokens.tolist() == [best] * rows
    # Greedy's choice is torch.max's: the first of the largest.
    _, first = top_log_probs(torch.randn(rows, 16), op_weight, scale, bias, 1)
    assert first.squeeze(1).tolist() == [int(torch.max(bias, 0).indices)] * rows


class torch_threads:
    def __init__(self, threads):
        self.threads, self.before = threads, torch.get_num_threads()

    def __enter__(self):
        torch.set_num_threads(self.threads)

    def __exit__(self, *exc):
        torch.set_num_threads(self.before)


@pytest.mark.parametrize("rows", [2, FUSED_ROWS + 2])
def test_the_same_bits_on_any_number_of_threads(rows):
    """The normalizer sums the vocabulary's blocks in order, whatever thread ran which."""
    torch.manual_seed(1)
    x, weight, bias = torch.randn(rows, 64), torch.randn(3000, 64), torch.randn(3000)
    results = []
    for threads in (1, 2, 3):
        with torch_threads(threads):
            results.append(top_log_probs(x, weight, None, bias, 6))
    for log_probs, tokens in results[1:]:
        assert torch.equal(log_probs, results[0][0]) and torch.equal(tokens, results[0][1])


@pytest.mark.parametrize("rows", [2, FUSED_ROWS + 2])
def test_minus_infinity_and_more_tokens_asked_than_the_vocabulary(rows):
    """Tokens of logit -inf (a bias of -inf, as a model that must never say a
    word has) come last, in order, with log-probability -inf; k above V gives V;
    a whole block of -inf leaves the normalizer finite."""
    vocab = 2 * BLOCK + 5
    bias = torch.zeros(vocab)
    minus_inf = list(range(3, 2 * BLOCK + 1)) + [vocab - 1]  # all of block 1
    bias[minus_inf] = float("-inf")
    x, weight = torch.randn(rows, 8), torch.randn(vocab, 8)
    log_probs, tokens = assert_scores(x, weight, bias, vocab + 7)
    assert tokens.shape == (rows, vocab)
    assert tokens[:, -len(minus_inf) :].tolist() == [minus_inf] * rows
    assert log_probs[:, -len(minus_inf) :].eq(float("-inf")).all()
    assert log_probs[:, : -len(minus_inf)].isfinite().all()


@pytest.mark.parametrize("rows", [2, FUSED_ROWS + 2])
def test_a_nan_logit_makes_its_row_nan(rows):
    """As log_softmax: NaN for the whole row; the other rows unchanged."""
    x, weight, bias = torch.randn(rows, 8), torch.randn(300, 8), torch.randn(300)
    clean = top_log_probs(x, weight, None, bias, 3)
    x[1, 2] = float("nan")
    log_probs, tokens = top_log_probs(x, weight, None, bias, 3)
    assert log_probs[1].isnan().all()
    others = [r for r in range(rows) if r != 1]
    assert torch.equal(log_probs[others], clean[0][others])
    assert torch.equal(tokens[others], clean[1][others])


def test_empty_inputs():
    weight = torch.randn(9, 4)
    log_probs, tokens = top_log_probs(torch.randn(0, 4), weight, None, None, 3)
    assert log_probs.shape == tokens.shape == (0, 3)
    log_probs, tokens = top_log_probs(torch.randn(2, 4), torch.randn(0, 4), None, None, 3)
    assert log_probs.shape == tokens.shape == (2, 0)


def test_strided_inputs():
    x = torch.randn(6, 2, 3)[:, 0, :]  # rows 6 apart
    weight = torch.randn(40, 6).t().contiguous().t()[:, :3]
    assert not x.is_contiguous() and not weight.is_contiguous()
    assert_scores(x, weight, torch.randn(80)[::2], 5)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: a.update(input=a["input"].double()), "runs on the CPU in float32"),
        (lambda a: a.update(input=a["input"][0]), r"expected input of shape \(rows, in_features\)"),
        (lambda a: a.update(weight=a["weight"][:, :-1]), "expected weight of shape"),
        (lambda a: a.update(weight=a["weight"].double()), "weight to have dtype Float"),
        (lambda a: a.update(bias=a["bias"][:-1]), "expected bias of shape"),
        (lambda a: a.update(scale=torch.ones(5)), "a float32 weight takes no scales"),
        (
            lambda a: a.update(weight=quantize_rows(a["weight"])[0]),
            "int8 and needs its per-row scales",
        ),
        (lambda a: a.update(k=0), "k must be >= 1, got 0"),
    ],
)
def test_bad_arguments(change, message):
    args = dict(
        input=torch.randn(3, 8), weight=torch.randn(5, 8), scale=None, bias=torch.randn(5), k=2
    )
    change(args)
    with pytest.raises(RuntimeError, match=message):
        top_log_probs(**args)


def test_opcheck():
    q, scale = quantize_rows(torch.randn(11, 8))
    for args in (
        (torch.randn(3, 8), torch.randn(11, 8), None, torch.randn(11), 4),
        (torch.randn(2, 8), q, scale, None, 20),
    ):
        torch.library.opcheck(
            top_log_probs.default, args, test_utils=("test_schema", "test_faketensor")
        )


@requires_cuda
def test_on_cuda_a_clear_error():
    with pytest.raises(RuntimeError, match="runs on the CPU in float32"):
        top_log_probs(
            torch.randn(3, 8, device="cuda"), torch.randn(5, 8, device="cuda"), None, None, 2
        )


@pytest.mark.parametrize("isa", ["baseline", "avx2"])
def test_every_instruction_set_copy(isa):
    """This file's tests again with SEQ2SEQ_EXT_CPU_ISA capping the copies in
    use (the machine's best runs above)."""
    selection = "not every_instruction_set and not cuda"
    assert_passes_under_isa_cap(["test_top_log_probs.py"], selection, isa)
