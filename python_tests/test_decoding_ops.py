"""The decoding ops (seq2seq_ext::greedy_decode and beam_search, the decoder's
whole loop in C++) return exactly what the Python search returns, bit for bit
(the scores within float32 rounding where the CPU's fused scoring serves), for
every cell, attention, input feeding, depth and batch size, on random and
trained models; on CUDA what they return on the CPU; their edge cases, bad
inputs, fake kernel and schema. The fused scoring itself: test_top_log_probs.py."""

import copy
import itertools

import pytest
import torch
from conftest import DEVICES, TOLERANCES, assert_close_scaled, requires_cuda

from seq2seq_ext.models import Seq2Seq, Seq2SeqConfig, search

SRC_VOCAB, TGT_VOCAB = 13, 11
CELLS = ["lstm", "gru", "rnn_tanh", "rnn_relu"]
ATTENTIONS = ["bahdanau", "luong-dot", "luong-general", "none"]
# (attention, input_feeding, bidirectional): luong-dot needs a unidirectional
# encoder (its keys have the decoder's size), input feeding needs attention.
DECODERS = [
    (attention, feeding, bidirectional)
    for attention, feeding, bidirectional in itertools.product(
        ATTENTIONS, [False, True], [False, True]
    )
    if not (feeding and attention == "none") and not (attention == "luong-dot" and bidirectional)
]
# One decoder per attention (the CUDA tests): input feeding where there is
# attention, a bidirectional encoder where the attention allows one.
ONE_DECODER_PER_ATTENTION = [
    (attention, attention != "none", attention != "luong-dot") for attention in ATTENTIONS
]


def make_model(cell, attention, input_feeding, bidirectional, num_layers=2, seed=0, **kwargs):
    torch.manual_seed(seed)
    config = Seq2SeqConfig(
        SRC_VOCAB,
        TGT_VOCAB,
        embedding_size=8,
        hidden_size=16,
        num_layers=num_layers,
        cell=cell,
        attention=attention,
        input_feeding=input_feeding,
        bidirectional=bidirectional,
        **kwargs,
    )
    return Seq2Seq(config).eval()


def make_source(batch, src_len=7, seed=1, device="cpu"):
    generator = torch.Generator().manual_seed(seed)
    src = torch.randint(3, SRC_VOCAB, (batch, src_len), generator=generator)
    lengths = torch.randint(1, src_len + 1, (batch,), generator=generator)
    if batch:
        lengths[0] = src_len
    return src.to(device), lengths.to(device)


def scored_by_the_fused_pass(decoded) -> bool:
    """Whether the op scored its steps with the fused output layer, log-softmax
    and top-k (seq2seq_ext::top_log_probs: on the CPU in float32), which rounds
    the logits and the softmax's normalizer in its own order (docs/design.md)."""
    return decoded.scores.device.type == "cpu" and decoded.scores.dtype == torch.float32


def assert_same_decoding(ours, python):
    """The same tokens, lengths and attention, bit for bit; the scores too,
    except after the fused scoring: within float32 rounding there."""
    for name, x, y in zip(python._fields, ours, python):
        if y is None:
            assert x is None, name
            continue
        assert x.shape == y.shape and x.dtype == y.dtype, name
        if name == "scores" and scored_by_the_fused_pass(python):
            assert_close_scaled(x, y, TOLERANCES[torch.float32], name)
        else:
            assert torch.equal(x, y), f"{name} differs"


def decode(model, src, lengths, beam_size=None, max_len=9, length_penalty=0.7, loop="cpp"):
    """Greedy decoding, or beam search, with the C++ loop ("cpp") or the Python one."""
    with torch.no_grad():
        if beam_size is None:
            return search.greedy_decode(model, src, lengths, max_len, loop)
        return search.beam_search(model, src, lengths, beam_size, max_len, length_penalty, loop)


def decode_both_ways(model, src, lengths, beam_size=None, max_len=9, length_penalty=0.7):
    """(C++ loop, Python loop) results of greedy decoding, or of beam search."""
    return tuple(
        decode(model, src, lengths, beam_size, max_len, length_penalty, loop)
        for loop in ("cpp", "python")
    )


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("decoder", DECODERS, ids=lambda d: "-".join(map(str, d)))
@pytest.mark.parametrize("beam_size", [None, 3], ids=["greedy", "beam3"])
def test_ops_equal_the_python_search(cell, decoder, beam_size):
    model = make_model(cell, *decoder)
    src, lengths = make_source(batch=5)
    assert_same_decoding(*decode_both_ways(model, src, lengths, beam_size))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    "batch, num_layers, dtype",
    [
        (1, 1, torch.float32),
        (1, 3, torch.float32),
        (4, 2, torch.float64),
        (3, 2, torch.bfloat16),
        (0, 2, torch.float32),
    ],
)
@pytest.mark.parametrize("beam_size", [None, 1, 4], ids=["greedy", "beam1", "beam4"])
def test_ops_equal_the_python_search_at_every_size(device, batch, num_layers, dtype, beam_size):
    """Batch 1 (the CPU's matrix-vector recurrence), several layers, float64,
    bfloat16, an empty batch; on each device."""
    model = make_model("gru", "bahdanau", True, True, num_layers=num_layers).to(device, dtype)
    src, lengths = make_source(batch, device=device)
    assert_same_decoding(*decode_both_ways(model, src, lengths, beam_size))


def assert_cuda_decodes_as_the_cpu(model, src, lengths, beam_size, max_len=9):
    """The op on CUDA against the same op on the CPU, for a float64 model (where
    two candidates never tie): the same tokens and lengths, the scores and
    attention weights within rounding. Returns the CPU's result."""
    expected = decode(model, src, lengths, beam_size, max_len)
    cuda_model = copy.deepcopy(model).cuda()
    ours = decode(cuda_model, src.cuda(), lengths.cuda(), beam_size, max_len)
    for name, x, y in zip(expected._fields, ours, expected):
        if y is None:
            assert x is None, name
        elif y.is_floating_point():
            assert_close_scaled(x.cpu(), y, TOLERANCES[torch.float64] * 10, name)
        else:
            assert x.dtype == y.dtype and torch.equal(x.cpu(), y), f"{name} differs"
    return expected


@requires_cuda
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("decoder", ONE_DECODER_PER_ATTENTION, ids=lambda d: "-".join(map(str, d)))
@pytest.mark.parametrize("beam_size", [None, 3], ids=["greedy", "beam3"])
def test_cuda_matches_the_cpu_op(cell, decoder, beam_size):
    """Every cell and attention, on random models."""
    model = make_model(cell, *decoder).double()
    src, lengths = make_source(batch=5)
    assert_cuda_decodes_as_the_cpu(model, src, lengths, beam_size)


@pytest.fixture(scope="module")
def trained_model():
    """A model trained to copy its source, so that it ends its sentences with
    EOS at different steps (the finished rows' bookkeeping)."""
    model = make_model("lstm", "bahdanau", False, True, num_layers=1)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    generator = torch.Generator().manual_seed(0)
    for _ in range(150):
        lengths = torch.randint(1, 6, (32,), generator=generator)
        src = torch.randint(3, TGT_VOCAB, (32, 5), generator=generator)
        src[torch.arange(5) >= lengths.unsqueeze(1)] = 0
        tgt = torch.zeros(32, 7, dtype=torch.long)
        tgt[:, 0] = 1
        tgt[:, 1:6] = src
        tgt[torch.arange(32), lengths + 1] = 2
        logits = model(src, lengths, tgt)
        loss = torch.nn.functional.cross_entropy(logits.transpose(1, 2), tgt[:, 1:], ignore_index=0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


@pytest.mark.parametrize("beam_size", [None, 4], ids=["greedy", "beam4"])
def test_ops_equal_the_python_search_on_a_trained_model(trained_model, beam_size):
    src, lengths = make_source(batch=16, src_len=5, seed=3)
    src = src.clamp(max=TGT_VOCAB - 1)
    ours, python = decode_both_ways(trained_model, src, lengths, beam_size, max_len=12)
    assert_same_decoding(ours, python)
    # It learned to copy: sentences end at different steps, before max_len.
    assert len(set(ours.lengths.tolist())) > 2 and ours.tokens.shape[1] < 12
    assert (ours.tokens[0, : lengths[0]] == src[0, : lengths[0]]).all()


@requires_cuda
@pytest.mark.parametrize("beam_size", [None, 4], ids=["greedy", "beam4"])
def test_cuda_matches_the_cpu_op_on_a_trained_model(trained_model, beam_size):
    """Sentences that end at different steps: the finished rows' bookkeeping on CUDA."""
    src, lengths = make_source(batch=16, src_len=5, seed=3)
    src = src.clamp(max=TGT_VOCAB - 1)
    model = copy.deepcopy(trained_model).double()
    decoded = assert_cuda_decodes_as_the_cpu(model, src, lengths, beam_size, max_len=12)
    assert len(set(decoded.lengths.tolist())) > 2 and decoded.tokens.shape[1] < 12


@pytest.mark.parametrize("beam_size", [TGT_VOCAB + 1, 2 * TGT_VOCAB + 3])
def test_more_beams_than_the_vocabulary(trained_model, beam_size):
    """Fewer continuations than beams at the first step: the search fills the
    beam with hypotheses of score -inf, which never win."""
    src, lengths = make_source(batch=4, src_len=5, seed=3)
    src = src.clamp(max=TGT_VOCAB - 1)
    ours, python = decode_both_ways(trained_model, src, lengths, beam_size, max_len=12)
    assert_same_decoding(ours, python)
    assert ours.scores.isfinite().all() and ours.tokens.shape[1] < 12
    random_model = make_model("gru", "bahdanau", False, True)
    assert_same_decoding(*decode_both_ways(random_model, src, lengths, beam_size, max_len=12))


def test_hypotheses_of_score_minus_infinity_count_as_finished():
    """Only EOS is possible (the other logits are -inf), so two of three beams
    hold hypotheses of score -inf; they count as finished, so the search ends
    after one step. (Were they not, the op and torch.topk would pick different
    ones among those ties, and keep the loop going to different lengths.)"""
    model = make_model("gru", "bahdanau", False, True)
    with torch.no_grad():
        model.decoder.output.weight.zero_()
        model.decoder.output.bias.fill_(float("-inf"))
        model.decoder.output.bias[model.config.eos_index] = 0.0
    src, lengths = make_source(batch=2)
    ours, python = decode_both_ways(model, src, lengths, 3, max_len=6)
    assert_same_decoding(ours, python)
    assert ours.tokens.tolist() == [[model.config.eos_index]] * 2 and ours.scores.eq(0).all()


@pytest.mark.parametrize("beam_size", [None, 3])
def test_tied_candidates_go_to_the_lower_hypothesis_then_token(beam_size):
    """A zero output weight: every step's logits are the bias, whose best three
    tokens tie. Greedy takes the first (torch.max's choice too); beam search
    keeps, among equal scores, the earlier hypothesis, then the lower token
    (torch.topk's order among ties is unspecified): hypotheses 3 3 3 ..., 3 3 .. 4,
    3 3 .. 5, all of one score, and the first wins."""
    model = make_model("gru", "bahdanau", False, True)
    with torch.no_grad():
        model.decoder.output.weight.zero_()
        model.decoder.output.bias.copy_(torch.tensor([-5, -5, -1, 1, 1, 1, 0, 0, -3, -3, -3.0]))
    src, lengths = make_source(batch=2)
    ours = decode(model, src, lengths, beam_size, max_len=4)
    assert ours.tokens.tolist() == [[3, 3, 3, 3]] * 2
    if beam_size is None:
        assert_same_decoding(ours, decode(model, src, lengths, beam_size, 4, loop="python"))


def fixed_memory(model, batch, src_len, mask):
    """Memory and initial state for `batch` rows, with a given source mask."""
    torch.manual_seed(5)
    config = model.config
    values = torch.randn(batch, src_len, config.encoder_output_size)
    state = torch.randn(config.num_layers, batch, config.hidden_size)
    if config.cell == "lstm":
        state = (state, torch.randn_like(state))
    return model.decoder.memory(values, mask), state


@pytest.mark.parametrize("attention", ["bahdanau", "luong-general"])
def test_fully_masked_rows_and_one_source_token(attention, monkeypatch):
    """A row that attends to nothing (zero weights, zero context), and S = 1."""
    model = make_model("gru", attention, False, True)
    for src_len, mask_row in ((4, [False] * 4), (1, [True])):
        mask = torch.tensor([[True] * src_len, mask_row])
        memory, state = fixed_memory(model, 2, src_len, mask)
        monkeypatch.setattr(model, "encode", lambda *args, m=memory, s=state: (m, s))
        src, lengths = torch.zeros(2, src_len, dtype=torch.long), torch.tensor([src_len, 1])
        for beam_size in (None, 2):
            ours, python = decode_both_ways(model, src, lengths, beam_size)
            assert_same_decoding(ours, python)
            if not any(mask_row):
                assert ours.attention[1].eq(0).all()


def test_max_len_one_and_length_penalty():
    model = make_model("lstm", "luong-general", True, True)
    src, lengths = make_source(batch=3)
    for beam_size, max_len, penalty in ((None, 1, 0.0), (3, 1, 1.0), (3, 6, 2.5)):
        ours, python = decode_both_ways(model, src, lengths, beam_size, max_len, penalty)
        assert_same_decoding(ours, python)
        assert ours.tokens.shape[1] <= max_len


def test_the_loop_in_use_and_when_python_runs_instead():
    model = make_model("gru", "bahdanau", False, False, dropout=0.3)
    assert search.decoding_ops_serve(model.eval(), "cpu")
    assert not search.decoding_ops_serve(model.train(), "cpu"), "dropout is active"
    torch_model = make_model("gru", "bahdanau", False, False, backend="torch")
    assert not search.decoding_ops_serve(torch_model, "cpu")
    src, lengths = make_source(batch=2)
    with pytest.raises(ValueError, match="backend='fused'"):
        search.greedy_decode(torch_model, src, lengths, 5, loop="cpp")
    with pytest.raises(ValueError, match="loop must be one of 'auto', 'cpp', 'python', got True"):
        model.greedy_decode(src, lengths, loop=True)
    calls = []
    op = torch.ops.seq2seq_ext.greedy_decode
    model.eval()
    with torch.no_grad():
        model.decoder.register_forward_pre_hook(lambda *args: calls.append("step"))
        model.greedy_decode(src, lengths, max_len=5)
        assert calls == []  # the C++ loop never calls the decoder module
        model.greedy_decode(src, lengths, max_len=5, loop="python")
    assert op is torch.ops.seq2seq_ext.greedy_decode


def op_arguments(model, batch=3, src_len=5):
    src, lengths = make_source(batch, src_len)
    with torch.no_grad():
        memory, state = model.encode(src, lengths)
        args = list(model.decoder.decoding_op_arguments(memory, state))
    return args + [1, 2, 0, 6]  # sos, eos, pad, max_len


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: a.__setitem__(0, a[0][:-1]), "expected 15 weights .* got 14"),
        (lambda a: a[0].__setitem__(1, a[0][1][:, :-1]), "layer 0 w_ih of shape"),
        (lambda a: a.__setitem__(1, "lstm"), r"expected 2 state tensor\(s\)"),
        (lambda a: a.__setitem__(1, "cnn"), "cell must be one of"),
        (lambda a: a.__setitem__(2, "luong"), "attention must be one of"),
        (lambda a: a.__setitem__(6, a[6].int()), "mask of dtype Bool"),
        (lambda a: a.__setitem__(7, None), "Bahdanau attention needs keys_proj"),
        (
            lambda a: a.__setitem__(5, a[5].double()),
            "expected values to have dtype Float like state h, got Double",
        ),
        (lambda a: a.__setitem__(8, TGT_VOCAB), "sos index 11 is outside"),
        (lambda a: a.__setitem__(11, 0), "max_len must be >= 1"),
    ],
)
def test_bad_arguments_get_clear_errors(change, message):
    model = make_model("gru", "bahdanau", False, False)
    args = op_arguments(model)
    args[0] = list(args[0])
    change(args)
    with pytest.raises(RuntimeError, match=message):
        torch.ops.seq2seq_ext.greedy_decode(*args, [])


def test_bad_beam_size():
    args = op_arguments(make_model("gru", "none", False, False))
    with pytest.raises(RuntimeError, match="beam_size must be >= 1"):
        torch.ops.seq2seq_ext.beam_search(*args, 0, 0.0, [])


@pytest.mark.parametrize("op, extra", [("greedy_decode", []), ("beam_search", [2, 0.5])])
@pytest.mark.parametrize("attention", ["bahdanau", "none"])
def test_opcheck(op, extra, attention):
    """Schema and fake kernel (its steps are a dynamic size); the ops take no
    gradient, so no input requires one."""
    model = make_model("lstm", attention, False, True)
    args = op_arguments(model) + extra + [[]]  # no scales
    torch.library.opcheck(
        getattr(torch.ops.seq2seq_ext, op).default,
        args,
        test_utils=("test_schema", "test_faketensor"),
    )
