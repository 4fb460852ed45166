"""The CPU's cache of packed W_hh copies (csrc/layers/cpu/packed_weights.h):
repeated calls on unchanged weights pack nothing, and every way a weight can
change in place (an update under no_grad, load_state_dict, an optimizer's
step) is seen on the next call, which then equals torch.nn with the new
weights. torch.ops.seq2seq_ext.packed_weight_cache() counts {copies held,
copies made, calls served from the cache}."""

import gc

import pytest
import torch
from conftest import TOLERANCES, assert_close_scaled

import seq2seq_ext

MODULES = {"LSTM": seq2seq_ext.FusedLSTM, "GRU": seq2seq_ext.FusedGRU, "RNN": seq2seq_ext.FusedRNN}


def counts():
    held, made, served = torch.ops.seq2seq_ext.packed_weight_cache()
    return {"held": held, "made": made, "served": served}


def pair(kind, layers=2):
    """A fused module and torch.nn's in float64 with the same weights. Batch 4:
    every CPU path packs W_hh there (batch 1 may read it as stored)."""
    torch.manual_seed(0)
    fused = MODULES[kind](12, 20, num_layers=layers)
    reference = getattr(torch.nn, kind)(12, 20, num_layers=layers).double()
    reference.load_state_dict(fused.state_dict())
    return fused, reference


def check(fused, reference, x):
    with torch.no_grad():
        assert_close_scaled(
            fused(x)[0].double(), reference(x.double())[0], TOLERANCES[torch.float32], "output"
        )


@pytest.mark.parametrize("kind", MODULES)
def test_repeated_calls_pack_once(kind):
    fused, reference = pair(kind)
    x = torch.randn(6, 4, 12)
    check(fused, reference, x)
    first = counts()
    for _ in range(3):
        check(fused, reference, x)
    again = counts()
    assert again["made"] == first["made"], "unchanged weights were packed again"
    assert again["served"] - first["served"] == 3 * 2  # 3 calls, 2 layers


def add_in_place(fused, reference):
    with torch.no_grad():
        for module in (fused, reference):
            module.weight_hh_l0.mul_(-1.5)


def load_state_dict(fused, reference):
    state = {k: torch.randn_like(v) * 0.3 for k, v in fused.state_dict().items()}
    fused.load_state_dict(state)
    reference.load_state_dict(state)


def optimizer_step(optimizer_class, **options):
    """A step of the optimizer on the fused module's weights."""

    def change(fused, reference):
        optimizer = optimizer_class(fused.parameters(), lr=0.5, **options)
        fused(torch.randn(5, 4, 12))[0].square().sum().backward()
        optimizer.step()
        reference.load_state_dict(fused.state_dict())

    change.__name__ = f"{optimizer_class.__name__}{options}"
    return change


OPTIMIZER_STEPS = [
    optimizer_step(torch.optim.Adam),  # foreach: bumps the weights' versions
    # Fused optimizers update the weights without bumping their versions: the
    # cache is emptied by every optimizer step instead (_ops/layers.py).
    optimizer_step(torch.optim.Adam, fused=True),
    optimizer_step(torch.optim.AdamW, fused=True),
    optimizer_step(torch.optim.SGD, fused=True),
]


def test_fused_optimizers_leave_the_version_as_it_was():
    """Why an optimizer's step must empty the cache: if torch's fused Adam
    starts bumping the versions, the hook is no longer needed (this fails)."""
    weight = torch.nn.Parameter(torch.randn(3, 3))
    optimizer = torch.optim.Adam([weight], fused=True)
    weight.grad = torch.randn(3, 3)
    version = weight._version
    optimizer.step()
    assert weight._version == version


@pytest.mark.parametrize(
    "change", [add_in_place, load_state_dict, *OPTIMIZER_STEPS], ids=lambda change: change.__name__
)
@pytest.mark.parametrize("kind", MODULES)
def test_a_weight_changed_in_place_is_packed_again(kind, change):
    fused, reference = pair(kind)
    x = torch.randn(7, 4, 12)
    check(fused, reference, x)
    change(fused, reference)
    check(fused, reference, x)


def test_inference_tensors_are_not_cached():
    with torch.inference_mode():
        fused, reference = pair("LSTM")
        x = torch.randn(5, 4, 12)
        before = counts()
        check(fused, reference, x)
        check(fused, reference, x)
        after = counts()
    assert after["served"] == before["served"]
    assert after["made"] - before["made"] == 2 * 2


def test_freed_weights_leave_the_cache():
    gc.collect()
    before = counts()["held"]
    fused, reference = pair("GRU")
    check(fused, reference, torch.randn(3, 4, 12))
    assert counts()["held"] == before + 2
    del fused
    gc.collect()
    assert counts()["held"] == before
