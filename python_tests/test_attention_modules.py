"""The attention modules (BahdanauAttention, LuongAttention): their formulas,
several queries per row, both backends, torch.compile, and the fallback to
reference.py."""

import pytest
import torch
from attention_args import composed_luong, composed_softmax, lengths_mask, random_lengths
from conftest import run_with_reference_fallback

import seq2seq_ext


def test_bahdanau_module_matches_its_formula():
    for normalize in (False, True):
        torch.manual_seed(0)
        module = seq2seq_ext.BahdanauAttention(
            query_size=5, key_size=4, attn_size=6, normalize=normalize
        ).double()
        if normalize:
            with torch.no_grad():
                module.b.normal_()
        query = torch.randn(3, 5, dtype=torch.float64)
        values = torch.randn(3, 7, 4, dtype=torch.float64)
        lengths = torch.tensor([7, 2, 5])
        context, weights = module(query, values, lengths=lengths)
        v = module.g * module.v / module.v.norm() if normalize else module.v
        keys_proj = values @ module.W_k.weight.t() + (module.b if normalize else 0)
        scores = torch.tanh((query @ module.W_q.weight.t())[:, None] + keys_proj) @ v
        expected_weights = composed_softmax(scores, lengths_mask(lengths, 7, "cpu"))
        torch.testing.assert_close(weights, expected_weights)
        torch.testing.assert_close(context, torch.bmm(expected_weights[:, None], values)[:, 0])
        # A decoder projects the keys once and reuses them: the same result.
        keys_proj = module.project_keys(values)
        for a, b in zip(
            module(query, values, lengths=lengths, keys_proj=keys_proj), (context, weights)
        ):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
        (context.sum() + weights.sum()).backward()
        for name, p in module.named_parameters():
            assert p.grad is not None and p.grad.isfinite().all(), name


def test_luong_module():
    torch.manual_seed(0)
    query, keys = torch.randn(3, 6), torch.randn(3, 5, 6)
    mask = lengths_mask(torch.tensor([5, 1, 3]), 5, "cpu")
    dot = seq2seq_ext.LuongAttention(6, 6, method="dot")
    assert dot.W is None and not list(dot.parameters())
    for a, b in zip(dot(query, keys, mask=mask), composed_luong(query, keys, keys, mask)):
        torch.testing.assert_close(a, b)
    general = seq2seq_ext.LuongAttention(6, 4, method="general")
    keys4, values = torch.randn(3, 5, 4), torch.randn(3, 5, 2)
    for a, b in zip(
        general(query, keys4, values, mask=mask),
        composed_luong(query, keys4, values, mask, general.W),
    ):
        torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match="dot attention needs query_size == key_size, got 6 and 4"):
        seq2seq_ext.LuongAttention(6, 4)
    with pytest.raises(ValueError, match="method must be one of"):
        seq2seq_ext.LuongAttention(6, 6, method="concat")


@pytest.mark.parametrize("backend", ["fused", "torch"])
@pytest.mark.parametrize(
    "make",
    [
        lambda backend: seq2seq_ext.BahdanauAttention(6, 4, 5, backend=backend),
        lambda backend: seq2seq_ext.LuongAttention(6, 4, method="general", backend=backend),
    ],
    ids=["bahdanau", "luong-general"],
)
def test_modules_take_several_queries_per_row(make, backend):
    """A (B, T, Q) query gives what T separate (B, Q) queries give; the torch
    backend (reference ops) gives the same as the fused one."""
    torch.manual_seed(0)
    module = make(backend).double()
    query, values = (
        torch.randn(3, 7, 6, dtype=torch.float64),
        torch.randn(3, 5, 4, dtype=torch.float64),
    )
    lengths = torch.tensor([5, 1, 3])
    context, weights = module(query, values, lengths=lengths)
    assert context.shape == (3, 7, 4) and weights.shape == (3, 7, 5)
    for step in range(7):
        one_context, one_weights = module(query[:, step], values, lengths=lengths)
        torch.testing.assert_close(context[:, step], one_context, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(weights[:, step], one_weights, rtol=1e-12, atol=1e-12)
    other = make("torch" if backend == "fused" else "fused").double()
    other.load_state_dict(module.state_dict())
    torch.testing.assert_close(other(query, values, lengths=lengths)[0], context)


def test_modules_compile_fullgraph():
    torch.manual_seed(0)
    bahdanau = seq2seq_ext.BahdanauAttention(8, 6, 5, normalize=True)
    luong = seq2seq_ext.LuongAttention(8, 6, method="general")
    query, values = torch.randn(4, 8), torch.randn(4, 9, 6)
    lengths = random_lengths(4, 9, 1)
    mask = lengths_mask(lengths, 9, "cpu")

    def step(query, values, mask, lengths):
        keys_proj = bahdanau.project_keys(values)
        context, weights = bahdanau(query, values, mask=mask, keys_proj=keys_proj)
        context2, weights2 = luong(query, values, lengths=lengths)
        return context + context2, weights * weights2

    compiled = torch.compile(step, fullgraph=True, backend="aot_eager")
    for a, b in zip(compiled(query, values, mask, lengths), step(query, values, mask, lengths)):
        torch.testing.assert_close(a, b)


FALLBACK_SCRIPT = """
import warnings, torch
warnings.simplefilter("ignore")
import seq2seq_ext
assert seq2seq_ext.backend_info()["ops"]["bahdanau_attention"]["cpu"] == "reference"
torch.manual_seed(0)
for module in (seq2seq_ext.BahdanauAttention(4, 3, 5, normalize=True),
               seq2seq_ext.LuongAttention(4, 3, method="general")):
    context, weights = module(torch.randn(2, 4), torch.randn(2, 6, 3), lengths=torch.tensor([6, 0]))
    assert context.shape == (2, 3) and weights.shape == (2, 6)
    assert not weights[1].any() and torch.allclose(weights[0].sum(), torch.tensor(1.0))
print("fallback ok")
"""


def test_modules_fall_back_to_reference():
    assert "fallback ok" in run_with_reference_fallback(FALLBACK_SCRIPT).stdout
