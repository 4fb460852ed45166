"""seq2seq_ext.metrics: hand-worked cases, and BLEU / chrF against sacrebleu."""

import math
import random

import pytest
import torch

from seq2seq_ext.data import ENG_FRA_SAMPLE, read_tsv_pairs, word_tokenize
from seq2seq_ext.metrics import chrf, corpus_bleu, exact_match, token_accuracy

# ---------------------------------------------------------------- accuracy


def test_token_accuracy_ignores_padding():
    target = torch.tensor([[5, 6, 7, 0], [5, 8, 0, 0]])
    pred = torch.tensor([[5, 6, 1, 7], [9, 8, 3, 0]])  # right at 3 of the 5 real positions
    assert token_accuracy(pred, target) == pytest.approx(3 / 5)
    logits = torch.nn.functional.one_hot(pred, 10).float()
    assert token_accuracy(logits, target) == pytest.approx(3 / 5)
    assert token_accuracy(pred, target, pad_index=7) == pytest.approx(4 / 7)


def test_token_accuracy_edge_cases():
    assert (
        token_accuracy(torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 3, dtype=torch.long))
        == 0.0
    )
    with pytest.raises(ValueError, match="do not match"):
        token_accuracy(torch.zeros(2, 3), torch.zeros(2, 4))


def test_exact_match():
    assert exact_match([["a", "b"], ["c"], []], [["a", "b"], ["d"], []]) == pytest.approx(2 / 3)
    assert exact_match([], []) == 0.0
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        exact_match([["a"], ["b"]], [["a"]])


# ---------------------------------------------------------------- BLEU


def test_bleu_perfect_and_no_overlap():
    sentence = "the cat sat on the mat".split()
    assert corpus_bleu([sentence], [sentence]) == pytest.approx(100)
    assert corpus_bleu([["a", "b", "c", "d"]], [["e", "f", "g", "h"]], smooth=True) == 0.0
    assert corpus_bleu([[]], [sentence]) == 0.0


def test_bleu_brevity_penalty():
    # "the cat sat on the" against "the cat sat on the mat": every n-gram of
    # the hypothesis is in the reference (1-grams 5/5, the two "the" clipped to
    # the reference's two; 2-grams 4/4; 3-grams 3/3; 4-grams 2/2), so all
    # precisions are 1 and BLEU is the brevity penalty alone:
    # c = 5 < r = 6, BP = exp(1 - 6/5) = exp(-0.2) = 0.8187...
    hypothesis, reference = "the cat sat on the".split(), "the cat sat on the mat".split()
    assert corpus_bleu([hypothesis], [reference]) == pytest.approx(100 * math.exp(-0.2))
    # Longer than the reference: no penalty; precision 6/7, 5/6, 4/5, 3/4.
    longer = reference + ["today"]
    expected = 100 * (6 / 7 * 5 / 6 * 4 / 5 * 3 / 4) ** 0.25
    assert corpus_bleu([longer], [reference]) == pytest.approx(expected)


def test_bleu_clipping():
    # "the the the the" against "the cat": "the" counts once (the reference
    # has one), so the 1-gram precision is 1/4; with max_n=1 and c = 4 >= r = 2,
    # BLEU = 1/4. With max_n=4 the 2-gram precision is 0, so BLEU is 0.
    hypothesis, reference = ["the"] * 4, ["the", "cat"]
    assert corpus_bleu([hypothesis], [reference], max_n=1) == pytest.approx(25)
    assert corpus_bleu([hypothesis], [reference]) == 0.0


def test_bleu_smoothing():
    # "a b x c d" against "a b y c d": 1-grams 4/5, 2-grams 2/4 ("a b", "c d"),
    # 3-grams 0/3, 4-grams 0/2. Unsmoothed: 0. Smoothed, the first zero becomes
    # 1/(2 * 3) and the second 1/(4 * 2): BLEU = (0.8 * 0.5 / 6 / 8) ** (1/4).
    hypothesis, reference = "a b x c d".split(), "a b y c d".split()
    assert corpus_bleu([hypothesis], [reference]) == 0.0
    expected = 100 * (0.8 * 0.5 / 6 / 8) ** 0.25
    assert corpus_bleu([hypothesis], [reference], smooth=True) == pytest.approx(expected)


def test_bleu_is_corpus_level():
    """Counts are summed over sentences, not averaged: a perfect sentence and
    a 1-gram-only one give nonzero BLEU although the second alone gives 0."""
    good, bad = "w x y z".split(), ["z", "y"]
    assert corpus_bleu([bad], [good]) == 0.0
    # 1-grams 6/6, 2-grams 3/4, 3-grams 2/2, 4-grams 1/1; c = 6 < r = 8.
    expected = 100 * math.exp(1 - 8 / 6) * (3 / 4) ** 0.25
    assert corpus_bleu([good, bad], [good, good]) == pytest.approx(expected)


# ---------------------------------------------------------------- chrF


def test_chrf_hand_worked():
    assert chrf(["the cat"], ["the cat"]) == pytest.approx(100)
    assert chrf(["abc"], ["xyz"]) == 0.0
    assert chrf(["a b"], ["ab"]) == pytest.approx(100)  # spaces are ignored
    assert chrf([["the", "cat"]], ["the cat"]) == pytest.approx(100)  # token lists too
    # "ab" against "abc", char_order=2, beta=2: 1-grams P = 2/2, R = 2/3;
    # 2-grams P = 1/1 ("ab"), R = 1/2. Means: P = 1, R = 7/12.
    # chrF = (1 + 4) P R / (4 P + R) = (35/12) / (55/12) = 7/11.
    assert chrf(["ab"], ["abc"], char_order=2) == pytest.approx(100 * 7 / 11)


# ---------------------------------------------------------------- against sacrebleu


def corpus(num_sentences=20, seed=0):
    """Tokenized French sentences of the shipped sample as references, and
    hypotheses made from them by dropping, swapping or replacing words."""
    rng = random.Random(seed)
    references = [
        word_tokenize(french) for _, french in read_tsv_pairs(ENG_FRA_SAMPLE)[:num_sentences]
    ]
    words = sorted({w for sentence in references for w in sentence})
    hypotheses = []
    for reference in references:
        hypothesis = list(reference)
        for _ in range(rng.randint(0, 3)):
            i = rng.randrange(len(hypothesis))
            edit = rng.choice(["drop", "swap", "replace", "add"])
            if edit == "drop" and len(hypothesis) > 2:
                del hypothesis[i]
            elif edit == "swap":
                j = rng.randrange(len(hypothesis))
                hypothesis[i], hypothesis[j] = hypothesis[j], hypothesis[i]
            elif edit == "replace":
                hypothesis[i] = rng.choice(words)
            else:
                hypothesis.insert(i, rng.choice(words))
        hypotheses.append(hypothesis)
    return hypotheses, references


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("smooth", [False, True])
def test_bleu_matches_sacrebleu(seed, smooth):
    sacrebleu = pytest.importorskip("sacrebleu")
    hypotheses, references = corpus(seed=seed)
    expected = sacrebleu.corpus_bleu(
        [" ".join(h) for h in hypotheses],
        [[" ".join(r) for r in references]],
        tokenize="none",
        smooth_method="exp" if smooth else "none",
    ).score
    assert 0 < expected < 100
    assert corpus_bleu(hypotheses, references, smooth=smooth) == pytest.approx(expected, abs=0.01)


def test_bleu_matches_sacrebleu_when_smoothing_matters():
    sacrebleu = pytest.importorskip("sacrebleu")
    hypotheses, references = (
        [["a", "b", "x", "c", "d"], ["e", "f"]],
        [["a", "b", "y", "c", "d"], ["e", "g", "h"]],
    )
    for smooth, method in ((False, "none"), (True, "exp")):
        expected = sacrebleu.corpus_bleu(
            [" ".join(h) for h in hypotheses],
            [[" ".join(r) for r in references]],
            tokenize="none",
            smooth_method=method,
        ).score
        assert corpus_bleu(hypotheses, references, smooth=smooth) == pytest.approx(
            expected, abs=0.01
        )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_chrf_matches_sacrebleu(seed):
    sacrebleu = pytest.importorskip("sacrebleu")
    hypotheses, references = corpus(seed=seed)
    hyp_text, ref_text = [" ".join(h) for h in hypotheses], [" ".join(r) for r in references]
    expected = sacrebleu.corpus_chrf(hyp_text, [ref_text]).score
    assert 0 < expected < 100
    assert chrf(hyp_text, ref_text) == pytest.approx(expected, abs=0.01)
    assert chrf(hypotheses, references) == pytest.approx(expected, abs=0.01)
    for char_order, beta in ((4, 1), (2, 3)):
        expected = (
            sacrebleu.metrics.CHRF(char_order=char_order, beta=beta)
            .corpus_score(hyp_text, [ref_text])
            .score
        )
        assert chrf(hyp_text, ref_text, char_order, beta) == pytest.approx(expected, abs=0.01)
