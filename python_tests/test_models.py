"""Seq2Seq models: the teacher-forced pass equals step-by-step decoding, the
fused and torch backends agree, beam search with one beam is greedy decoding
and with enough beams is exhaustive search, and bad inputs get clear errors."""

import itertools

import pytest
import torch

from seq2seq_ext.models import Seq2Seq, Seq2SeqConfig

SRC_VOCAB, TGT_VOCAB = 11, 13
CONFIGS = [  # (cell, attention, bidirectional, input_feeding)
    ("gru", "bahdanau", True, False),
    ("gru", "bahdanau", False, True),
    ("lstm", "luong-general", True, False),
    ("lstm", "luong-dot", False, True),
    ("rnn_tanh", "none", True, False),
    ("rnn_relu", "luong-general", False, False),
]


def make_model(
    cell="gru",
    attention="bahdanau",
    bidirectional=False,
    input_feeding=False,
    backend="fused",
    num_layers=2,
    seed=0,
    **kwargs,
):
    torch.manual_seed(seed)
    fields = dict(
        embedding_size=8,
        hidden_size=6,
        num_layers=num_layers,
        cell=cell,
        attention=attention,
        bidirectional=bidirectional,
        input_feeding=input_feeding,
        backend=backend,
    )
    config = Seq2SeqConfig(SRC_VOCAB, TGT_VOCAB, **{**fields, **kwargs})
    return Seq2Seq(config).double()


def make_batch(batch=4, src_len=7, tgt_len=6, seed=1):
    generator = torch.Generator().manual_seed(seed)
    src = torch.randint(4, SRC_VOCAB, (batch, src_len), generator=generator)
    lengths = torch.randint(1, src_len + 1, (batch,), generator=generator)
    lengths[0] = src_len
    src[torch.arange(src_len) >= lengths.unsqueeze(1)] = 0
    tgt = torch.randint(3, TGT_VOCAB, (batch, tgt_len), generator=generator)
    tgt[:, 0] = 1
    return src, lengths, tgt


def config_id(config):
    return "-".join(str(part) for part in config)


@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
def test_teacher_forcing_equals_step_by_step(config):
    """The whole-target pass (one layer op, attention for all steps at once)
    gives the logits of running the decoder one step at a time."""
    cell, attention, bidirectional, _ = config
    model = make_model(cell, attention, bidirectional).eval()
    src, lengths, tgt = make_batch()
    whole = model(src, lengths, tgt)
    memory, state = model.encode(src, lengths)
    stepped = model._decode_step_by_step(tgt[:, :-1], state, memory, use_truth=None)
    torch.testing.assert_close(whole, stepped, rtol=1e-10, atol=1e-12)


def test_teacher_forcing_runs_the_decoder_layer_once():
    model = make_model()
    calls = []
    model.decoder.rnn.register_forward_hook(lambda *args: calls.append(1))
    model(*make_batch(tgt_len=9))
    assert len(calls) == 1


@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
def test_fused_and_torch_backends_agree_in_float64(config):
    """Same weights (one state_dict), same loss and gradients."""
    fused = make_model(*config, backend="fused", dropout=0.0)
    torch_model = make_model(*config, backend="torch", dropout=0.0)
    torch_model.load_state_dict(fused.state_dict())
    src, lengths, tgt = make_batch()
    losses = []
    for model in (fused, torch_model):
        logits = model(src, lengths, tgt)
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), tgt[:, 1:].flatten())
        loss.backward()
        losses.append(loss)
    torch.testing.assert_close(losses[0], losses[1], rtol=1e-10, atol=0)
    for (name, p_fused), p_torch in zip(fused.named_parameters(), torch_model.parameters()):
        torch.testing.assert_close(p_fused.grad, p_torch.grad, rtol=1e-8, atol=1e-12, msg=name)


def test_padding_does_not_change_a_sentence():
    """A sentence decodes to the same logits alone and padded in a batch."""
    model = make_model(bidirectional=True).eval()
    src, lengths, tgt = make_batch(batch=4, src_len=7)
    batched = model(src, lengths, tgt)
    for row in range(4):
        alone = model(
            src[row : row + 1, : lengths[row]], lengths[row : row + 1], tgt[row : row + 1]
        )
        torch.testing.assert_close(batched[row : row + 1], alone, rtol=1e-10, atol=1e-12)


def test_no_teacher_forcing_feeds_back_the_predictions():
    """Ratio 0 feeds each step the previous argmax: the argmaxes are greedy decoding's."""
    model = make_model(attention="luong-general").eval()
    src, lengths, tgt = make_batch(tgt_len=6)
    predicted = model(src, lengths, tgt, teacher_forcing_ratio=0.0).argmax(dim=2)
    greedy = model.greedy_decode(src, lengths, max_len=5)
    steps = greedy.tokens.shape[1]
    unfinished = torch.arange(steps) < greedy.lengths.unsqueeze(1)
    assert torch.equal(predicted[:, :steps][unfinished], greedy.tokens[unfinished])


@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
def test_beam_of_one_is_greedy(config):
    model = make_model(*config).eval()
    src, lengths, _ = make_batch()
    greedy = model.greedy_decode(src, lengths, max_len=8)
    beam = model.beam_search(src, lengths, beam_size=1, max_len=8)
    assert torch.equal(beam.tokens, greedy.tokens)
    assert torch.equal(beam.lengths, greedy.lengths)
    torch.testing.assert_close(beam.scores, greedy.scores)
    if greedy.attention is not None:
        torch.testing.assert_close(beam.attention, greedy.attention)


def hypothesis_log_probs(model, src, lengths, max_len):
    """log p(hypothesis | src) of every hypothesis of one sentence that beam
    search can end with: ending at its first EOS, or running max_len tokens."""
    eos, vocab = model.config.eos_index, model.config.tgt_vocab_size
    scores = {}
    for length in range(1, max_len + 1):
        for seq in itertools.product(range(vocab), repeat=length):
            if eos in seq[:-1] or (length < max_len and seq[-1] != eos):
                continue
            tgt = torch.tensor([[model.config.sos_index, *seq]])
            log_probs = torch.log_softmax(model(src, lengths, tgt), dim=2)[0]
            scores[seq] = log_probs[torch.arange(length), torch.tensor(seq)].sum().item()
    return scores


def assert_beam_search_is_exhaustive_search(model, src, lengths, max_len, alphas):
    """A beam wider than the number of hypotheses scores every one: for each
    length penalty alpha, beam search returns the hypothesis with the best
    log-probability / ((5 + length) / 6) ** alpha, and that score. Returns the
    winner of each alpha."""
    log_probs = hypothesis_log_probs(model, src, lengths, max_len)
    winners = {}
    for alpha in alphas:
        ranked = {seq: lp / ((5 + len(seq)) / 6) ** alpha for seq, lp in log_probs.items()}
        best = max(ranked, key=ranked.get)
        beam = model.config.tgt_vocab_size**max_len
        found = model.beam_search(src, lengths, beam, max_len, length_penalty=alpha)
        assert found.tokens[0, : found.lengths[0]].tolist() == list(best), f"alpha {alpha}"
        assert found.scores[0].item() == pytest.approx(ranked[best], rel=1e-9), f"alpha {alpha}"
        winners[alpha] = best
    return winners


def test_wide_beam_search_is_exhaustive_search():
    torch.manual_seed(0)
    config = Seq2SeqConfig(6, 5, embedding_size=4, hidden_size=5, cell="gru")
    model = Seq2Seq(config).double().eval()
    src, lengths = torch.tensor([[4, 5, 3]]), torch.tensor([3])
    assert_beam_search_is_exhaustive_search(model, src, lengths, 3, alphas=(0.0, 1.0))


def test_length_penalty_changes_the_winner_as_in_exhaustive_search():
    """A model whose decoder weights are scaled up, for sharper distributions
    that change from step to step: without a penalty a lone EOS wins, with a
    strong one a hypothesis of four tokens. Beam search agrees with exhaustive
    search at every alpha, winner and penalised score."""
    torch.manual_seed(29)
    config = Seq2SeqConfig(
        6, 5, embedding_size=6, hidden_size=8, cell="gru", attention="luong-general"
    )
    model = Seq2Seq(config).double().eval()
    with torch.no_grad():
        for p in model.decoder.parameters():
            p.mul_(3.0)
    src, lengths = torch.tensor([[4, 5, 3]]), torch.tensor([3])
    winners = assert_beam_search_is_exhaustive_search(
        model, src, lengths, 4, alphas=(0.0, 0.6, 1.5, 3.0)
    )
    assert winners[0.0] == (config.eos_index,)
    assert len(winners[3.0]) == 4 and winners[3.0][-1] == config.eos_index


def test_keys_are_projected_once_per_decode():
    model = make_model(attention="bahdanau").eval()
    calls = []
    model.decoder.attention.W_k.register_forward_hook(lambda *args: calls.append(1))
    src, lengths, _ = make_batch()
    model.beam_search(src, lengths, beam_size=3, max_len=6)
    model.greedy_decode(src, lengths, max_len=6)
    assert len(calls) == 2


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_empty_batch(cell):
    model = make_model(cell, bidirectional=True)
    src, lengths = torch.zeros(0, 5, dtype=torch.long), torch.zeros(0, dtype=torch.long)
    tgt = torch.ones(0, 4, dtype=torch.long)
    assert model(src, lengths, tgt).shape == (0, 3, TGT_VOCAB)
    assert model.greedy_decode(src, lengths, max_len=4).tokens.shape[0] == 0
    assert model.beam_search(src, lengths, beam_size=2, max_len=4).tokens.shape[0] == 0


def test_state_dict_matches_torch_layers():
    """The recurrent layers' parameters carry torch.nn's names."""
    keys = make_model(cell="lstm", bidirectional=True).state_dict().keys()
    assert "encoder.rnn.weight_hh_l1_reverse" in keys
    assert "decoder.rnn.bias_ih_l0" in keys


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(cell="transformer"), "cell must be one of"),
        (dict(attention="luong-dot", bidirectional=True), "luong-dot attention needs"),
        (dict(attention="none", input_feeding=True), "input_feeding needs attention"),
        (dict(dropout=1.0), "dropout must be in"),
        (dict(hidden_size=0), "hidden_size must be >= 1"),
        (dict(backend="tf"), "backend must be one of"),
    ],
)
def test_bad_configs(change, message):
    with pytest.raises(ValueError, match=message):
        make_model(**change)


def test_bad_inputs():
    model = make_model()
    src, lengths, tgt = make_batch(batch=2, src_len=5)
    with pytest.raises(ValueError, match="src_lengths in \\[1, 5\\]"):
        model(src, torch.tensor([5, 0]), tgt)
    with pytest.raises(ValueError, match="src_lengths in \\[1, 5\\]"):
        model(src, torch.tensor([6, 1]), tgt)
    with pytest.raises(ValueError, match="src_lengths of dtype int64"):
        model(src, torch.tensor([5, 1], dtype=torch.int32), tgt)
    with pytest.raises(ValueError, match="src of dtype int64"):
        model(src.float(), lengths, tgt)
    with pytest.raises(ValueError, match="at least 2 tokens"):
        model(src, lengths, tgt[:, :1])
    with pytest.raises(ValueError, match="tgt of dtype int64"):
        model(src, lengths, tgt[:1])
    with pytest.raises(ValueError, match="teacher_forcing_ratio"):
        model(src, lengths, tgt, teacher_forcing_ratio=1.5)
    with pytest.raises(ValueError, match="beam_size"):
        model.beam_search(src, lengths, beam_size=0)
    with pytest.raises(IndexError, match="index out of range"):  # a token outside the vocabulary
        model(torch.full_like(src, SRC_VOCAB), lengths, tgt)


def test_config_round_trip():
    config = make_model(cell="lstm", attention="luong-general").config
    assert Seq2SeqConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown fields"):
        Seq2SeqConfig.from_dict({**config.to_dict(), "heads": 8})
