"""seq2seq_ext.flops: the textbook closed forms of an Elman seq2seq, hand-checked LSTM / GRU /
multi-layer / bidirectional / attention cases, and the parameter count
against a built model."""

import pytest
import torch
from conftest import REPO, result_of, run_python
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from seq2seq_ext import models, reference
from seq2seq_ext.flops import (
    COMPONENTS,
    count_flops,
    count_parameters,
    rnn_parameters,
    rnn_step_flops,
)
from seq2seq_ext.models import Seq2SeqConfig


def config(**overrides):
    """A small config; every size distinct so that a swapped size shows."""
    values = dict(
        src_vocab_size=5,
        tgt_vocab_size=5,
        embedding_size=3,
        hidden_size=2,
        num_layers=1,
        cell="rnn_tanh",
        attention="none",
    )
    values.update(overrides)
    return Seq2SeqConfig(**values)


# ------------------------------------------------------------------ the closed forms


@pytest.mark.parametrize("cell", ["rnn_tanh", "rnn_relu"])
@pytest.mark.parametrize("m, k, V, T", [(3, 2, 5, 4), (256, 512, 10000, 20), (1, 1, 1, 1)])
def test_elman_flops_are_the_closed_form(cell, m, k, V, T):
    c = config(cell=cell, embedding_size=m, hidden_size=k, src_vocab_size=V, tgt_vocab_size=V)
    flops = count_flops(c, src_len=T, tgt_len=T)
    assert flops["total"] == T * (4 * m * k + 4 * k * k + 2 * k + 2 * k * V)
    # the closed form's split: encoder T(2mk + 2k^2 + k), decoder + projection T(2mk + 2k^2 + k + 2kV)
    assert flops["encoder"] == T * (2 * m * k + 2 * k * k + k)
    assert flops["decoder"] + flops["output"] == T * (2 * m * k + 2 * k * k + k + 2 * k * V)


@pytest.mark.parametrize("m, k, V", [(3, 2, 5), (256, 512, 10000)])
def test_elman_parameters_are_the_closed_form_plus_target_embedding_and_second_bias(m, k, V):
    """The closed form counts Vm + (mk + k^2 + k) * 2 + kV + V: one embedding table
    and one bias per RNN. The model has a target embedding too (Vm: one table per
    side) and torch's bias_ih and bias_hh per RNN (k more, twice)."""
    c = config(embedding_size=m, hidden_size=k, src_vocab_size=V, tgt_vocab_size=V)
    params = count_parameters(c)
    textbook = V * m + (m * k + k * k + k) + (m * k + k * k + k) + (k * V + V)
    assert params["total"] == textbook + V * m + 2 * k
    assert params["encoder"] == params["decoder"] == (m * k + k * k + k) + k
    assert params["embedding_src"] == params["embedding_tgt"] == V * m
    assert params["output"] == k * V + V


def test_torch_layers_have_the_counted_parameters():
    """rnn_parameters follows torch.nn's layout: two biases, D*H inputs above layer 0."""
    for cls, cell in ((nn.LSTM, "lstm"), (nn.GRU, "gru"), (nn.RNN, "rnn_tanh")):
        for layers in (1, 3):
            for bidirectional in (False, True):
                layer = cls(5, 7, layers, bidirectional=bidirectional)
                expected = sum(p.numel() for p in layer.parameters())
                assert rnn_parameters(cell, 5, 7, layers, 2 if bidirectional else 1) == expected


# ------------------------------------------------------- hand-checked cases
# E = 3, H = 2, V = 5, src_len 4, tgt_len 3 unless said otherwise.


def test_lstm_by_hand():
    c = config(cell="lstm")
    # G*H = 8 rows: weight_ih 8*3, weight_hh 8*2, two biases 8 each
    assert count_parameters(c) == dict(
        embedding_src=15,
        encoder=56,
        bridge=0,
        embedding_tgt=15,
        decoder=56,
        attention=0,
        combine=0,
        output=15,
        total=157,
    )
    # one step: gates 2*8*(3+2) = 80, elementwise 9 per unit * 2 = 18 -> 98
    assert count_flops(c, src_len=4, tgt_len=3) == dict(
        embedding_src=0,
        encoder=4 * 98,
        bridge=0,
        embedding_tgt=0,
        decoder=3 * 98,
        attention=0,
        combine=0,
        output=3 * 2 * 2 * 5,
        total=392 + 294 + 60,
    )


def test_gru_by_hand():
    c = config(cell="gru")
    params = count_parameters(c)
    assert params["encoder"] == params["decoder"] == 6 * 3 + 6 * 2 + 2 * 6  # 42
    # one step: gates 2*6*(3+2) = 60, elementwise 8 per unit * 2 = 16 -> 76
    flops = count_flops(c, src_len=4, tgt_len=3)
    assert (flops["encoder"], flops["decoder"], flops["total"]) == (4 * 76, 3 * 76, 304 + 228 + 60)


def test_two_layer_elman_by_hand():
    c = config(num_layers=2)
    # layer 0 reads E = 3: 2*3 + 2*2 + 2*2 = 14; layer 1 reads H = 2: 2*2 + 2*2 + 2*2 = 12
    assert count_parameters(c)["encoder"] == 14 + 12
    # layer 0 step: 2*2*(3+2) + 2 = 22; layer 1 step: 2*2*(2+2) + 2 = 18
    flops = count_flops(c, src_len=4, tgt_len=3)
    assert (flops["encoder"], flops["decoder"]) == (4 * 40, 3 * 40)


def test_bidirectional_two_layer_gru_by_hand():
    c = config(cell="gru", num_layers=2, bidirectional=True)
    params = count_parameters(c)
    # encoder: layer 0, 2 directions of 42; layer 1 reads 2H = 4: 2 * (6*4 + 6*2 + 12) = 96
    assert params["encoder"] == 84 + 96
    assert params["bridge"] == 4 * 2 + 2  # Linear(2H, H) for h, shared by the layers
    assert params["decoder"] == 42 + (6 * 2 + 6 * 2 + 12)  # unidirectional; layer 1 reads H
    flops = count_flops(c, src_len=4, tgt_len=3)
    # encoder step: layer 0, 2 * (60 + 16); layer 1, 2 * (2*6*(4+2) + 16) = 176
    assert flops["encoder"] == 4 * (152 + 176)
    assert flops["bridge"] == 2 * (2 * 4 * 2 + 2)  # per layer: Linear(4, 2) and tanh on 2 units


def test_bidirectional_lstm_bridges_h_and_c():
    c = config(cell="lstm", num_layers=3, bidirectional=True)
    assert count_parameters(c)["bridge"] == 2 * (4 * 2 + 2)
    # per layer: h: Linear(4, 2) + tanh = 18, c: Linear(4, 2) = 16
    assert count_flops(c, src_len=4, tgt_len=3)["bridge"] == 3 * (18 + 16)


def test_bahdanau_by_hand():
    c = config(attention="bahdanau", attn_size=3)
    params = count_parameters(c)
    assert params["attention"] == 2 * 3 + 2 * 3 + 3  # W_q (H->A), W_k (K->A), v
    assert params["combine"] == (2 + 2) * 2 + 2
    flops = count_flops(c, src_len=4, tgt_len=3)
    # keys, once: 4 positions * 2*2*3 = 48. Per step: W_q h 2*2*3 = 12; per position
    # 3 adds + 3 tanh + a dot of 3 (6): 4*12 = 48; softmax 3*4 = 12; context 2*4*2 = 16
    assert flops["attention"] == 48 + 3 * (12 + 48 + 12 + 16)
    assert flops["combine"] == 3 * (2 * 4 * 2 + 2)  # Linear(H + K, H) and tanh


def test_luong_general_by_hand():
    c = config(attention="luong-general", bidirectional=True)  # K = 2H = 4
    assert count_parameters(c)["attention"] == 2 * 4
    # per step: h W 2*2*4 = 16; 4 dots of 4: 32; softmax 12; context 2*4*4 = 32
    assert count_flops(c, src_len=4, tgt_len=3)["attention"] == 3 * (16 + 32 + 12 + 32)


def test_luong_dot_by_hand():
    c = config(attention="luong-dot")
    assert count_parameters(c)["attention"] == 0
    # per step: 4 dots of 2: 16; softmax 12; context 16
    assert count_flops(c, src_len=4, tgt_len=3)["attention"] == 3 * (16 + 12 + 16)


def test_input_feeding_widens_the_decoder_input():
    c = config(attention="luong-dot", input_feeding=True)  # decoder reads E + H = 5
    assert count_parameters(c)["decoder"] == 2 * 5 + 2 * 2 + 2 * 2
    assert count_flops(c, src_len=4, tgt_len=3)["decoder"] == 3 * (2 * 2 * (5 + 2) + 2)


def test_backward_is_twice_the_matmuls_and_once_the_elementwise():
    m, k, V, T = 3, 2, 5, 4
    c = config(embedding_size=m, hidden_size=k, src_vocab_size=V, tgt_vocab_size=V)
    matmul, elementwise = T * (4 * m * k + 4 * k * k + 2 * k * V), 2 * k * T
    assert count_flops(c, T, T, backward=True)["total"] == 3 * matmul + 2 * elementwise


def test_flops_scale_with_the_batch():
    c = config(cell="lstm", bidirectional=True, attention="bahdanau", num_layers=2)
    one, eight = count_flops(c, 6, 5), count_flops(c, 6, 5, batch=8)
    assert all(eight[name] == 8 * one[name] for name in one)


def test_every_component_is_reported_and_summed():
    c = config(cell="gru", bidirectional=True, attention="bahdanau")
    for counts in (count_parameters(c), count_flops(c, 4, 3), count_flops(c, 4, 3, backward=True)):
        assert list(counts) == [*COMPONENTS, "total"]
        assert counts["total"] == sum(counts[name] for name in COMPONENTS)


@pytest.mark.parametrize(
    "cell, fn",
    [
        ("lstm", reference.lstm_cell),
        ("gru", reference.gru_cell),
        ("rnn_tanh", reference.rnn_tanh_cell),
    ],
)
def test_cell_matmul_flops_agree_with_torch_flop_counter(cell, fn):
    """torch.utils.flop_counter counts 2 per multiply-add of each matrix product
    and nothing else: our matmul part of one step."""
    gates, batch, inputs, hidden = {"lstm": 4, "gru": 3, "rnn_tanh": 1}[cell], 3, 5, 7
    x, h = torch.randn(batch, inputs), torch.randn(batch, hidden)
    hx = (h, torch.randn(batch, hidden)) if cell == "lstm" else h
    weights = (
        torch.randn(gates * hidden, inputs),
        torch.randn(gates * hidden, hidden),
        torch.randn(gates * hidden),
        torch.randn(gates * hidden),
    )
    with FlopCounterMode(display=False) as counter:
        fn(x, hx, *weights)
    assert counter.get_total_flops() == batch * rnn_step_flops(cell, inputs, hidden).matmul


def test_a_model_is_read_through_its_config():
    c = config(cell="lstm", attention="bahdanau")
    model = nn.Linear(2, 3)
    model.config = c
    assert count_flops(model, 4, 3) == count_flops(c, 4, 3)
    assert count_parameters(model) == {**count_parameters(c), "model_total": 9}
    assert count_parameters(nn.Linear(2, 3)) == {"model_total": 9}
    with pytest.raises(TypeError, match="Seq2SeqConfig"):
        count_flops(nn.Linear(2, 3), 4, 3)


# --------------------------------------------------- against a built model
def build_model(config):
    return models.Seq2Seq(config)


def model_grid():
    for cell in ("lstm", "gru", "rnn_tanh", "rnn_relu"):
        for attention in ("none", "bahdanau", "luong-dot", "luong-general"):
            for bidirectional in (False, True):
                if attention == "luong-dot" and bidirectional:
                    continue  # K = 2H != H: the config refuses it
                for layers in (1, 2):
                    for feeding in (False, True) if attention != "none" else (False,):
                        yield Seq2SeqConfig(
                            src_vocab_size=11,
                            tgt_vocab_size=13,
                            embedding_size=5,
                            hidden_size=6,
                            num_layers=layers,
                            cell=cell,
                            bidirectional=bidirectional,
                            attention=attention,
                            attn_size=7 if layers == 2 else None,
                            input_feeding=feeding,
                        )


# which component each parameter of the model belongs to, by name
COMPONENT_OF_PREFIX = {
    "encoder.embedding.": "embedding_src",
    "encoder.rnn.": "encoder",
    "encoder.bridge_": "bridge",
    "decoder.embedding.": "embedding_tgt",
    "decoder.rnn.": "decoder",
    "decoder.attention.": "attention",
    "decoder.combine.": "combine",
    "decoder.output.": "output",
}


def test_parameter_count_equals_the_built_model():
    for c in model_grid():
        model = build_model(c)
        counts = count_parameters(model)
        assert (
            counts["total"] == counts["model_total"] == sum(p.numel() for p in model.parameters())
        ), c


def test_parameter_count_per_component_equals_the_built_model():
    for c in model_grid():
        measured = dict.fromkeys(COMPONENTS, 0)
        for name, p in build_model(c).named_parameters():
            matches = [v for prefix, v in COMPONENT_OF_PREFIX.items() if name.startswith(prefix)]
            assert len(matches) == 1, f"parameter {name} belongs to no component (or to several)"
            measured[matches[0]] += p.numel()
        expected = count_parameters(c)
        assert measured == {name: expected[name] for name in COMPONENTS}, c


# ------------------------------------------------------------------ the CLI


def test_example_quick_ends_with_result_json(tmp_path):
    metrics = result_of(
        run_python(REPO / "examples" / "count_flops.py", "--quick", "--out", tmp_path).stdout
    )
    m, k, V, T = 256, 512, 10000, 20  # the defaults: a plain Elman RNN, the closed forms' case
    assert (
        metrics["flops_total"]
        == metrics["closed_form_flops"]
        == T * (4 * m * k + 4 * k * k + 2 * k + 2 * k * V)
    )
    assert metrics["params_total"] == metrics["closed_form_params"] + V * m + 2 * k
    assert metrics["params_total"] == metrics["model_params"]
    assert metrics["closed_form_match"] is True
    assert "| total |" in (tmp_path / "count_flops.md").read_text()


def test_example_outside_the_closed_forms_case_checks_no_closed_form():
    metrics = result_of(
        run_python(
            REPO / "examples" / "count_flops.py",
            "--cell",
            "lstm",
            "--attention",
            "bahdanau",
            "--bidirectional",
            "--layers",
            "2",
            "--hidden",
            "16",
            "--embedding",
            "8",
            "--vocab",
            "20",
            "--len",
            "5",
        ).stdout
    )
    assert "closed_form_flops" not in metrics
    c = Seq2SeqConfig(
        src_vocab_size=20,
        tgt_vocab_size=20,
        embedding_size=8,
        hidden_size=16,
        num_layers=2,
        cell="lstm",
        bidirectional=True,
        attention="bahdanau",
    )
    assert metrics["flops_total"] == count_flops(c, 5, 5)["total"]
    assert metrics["params_total"] == count_parameters(c)["total"]
