"""seq2seq_ext.nmt.metrics: hand-worked accuracies; BLEU and chrF are sacreBLEU's."""

import pytest
import sacrebleu
import torch

from seq2seq_ext.nmt.metrics import corpus_scores, exact_match, token_accuracy

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


# ---------------------------------------------------------------- BLEU, chrF


def test_corpus_scores_are_sacrebleus_with_signatures():
    hypotheses = ["the cat sat on the mat .", "a dog ran"]
    references = ["the cat sat on a mat .", "a dog ran away"]
    scores = corpus_scores(hypotheses, references)
    assert scores["bleu"] == sacrebleu.corpus_bleu(hypotheses, [references]).score
    assert scores["chrf"] == sacrebleu.corpus_chrf(hypotheses, [references]).score
    assert 0 < scores["bleu"] < scores["chrf"] < 100
    assert (
        scores["bleu_signature"]
        == f"nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:{sacrebleu.__version__}"
    )
    assert scores["chrf_signature"].startswith("nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no")
    assert corpus_scores(references, references)["bleu"] == pytest.approx(100)


def test_corpus_scores_edge_cases():
    assert corpus_scores([], [])["bleu"] == 0.0
    assert corpus_scores([""], ["a b c d"])["bleu"] == 0.0
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        corpus_scores(["a", "b"], ["a"])
