"""Evaluation metrics for sequence-to-sequence outputs.

``token_accuracy`` and ``exact_match`` return fractions in [0, 1]
(no library computes them on token lists); ``corpus_scores`` gives BLEU and
chrF by sacreBLEU, with their signatures.

Sequences are compared as given: cut predictions at ``<eos>`` and drop
padding first (``Vocab.decode`` does both).
"""

from typing import Sequence

from sacrebleu.metrics import BLEU, CHRF
from torch import Tensor

Tokens = Sequence[str]


def token_accuracy(logits_or_pred: Tensor, target: Tensor, pad_index: int = 0) -> float:
    """The fraction of non-pad ``target`` positions predicted right.

    ``logits_or_pred`` is ``(B, T, V)`` scores (their argmax is the prediction)
    or ``(B, T)`` predicted indices, aligned with ``target (B, T)``: for a
    decoder fed ``tgt[:, :-1]``, the target is ``tgt[:, 1:]``. 0.0 when every
    position is padding.
    """
    correct, total = count_correct_tokens(logits_or_pred, target, pad_index)
    return correct / total if total else 0.0


def count_correct_tokens(logits_or_pred: Tensor, target: Tensor, pad_index: int = 0):
    """(right predictions, non-pad positions) of ``target``: the counts behind
    ``token_accuracy``, to sum over batches."""
    pred = logits_or_pred.argmax(-1) if logits_or_pred.dim() == target.dim() + 1 else logits_or_pred
    if pred.shape != target.shape:
        raise ValueError(
            f"token_accuracy: predictions of shape {tuple(pred.shape)} do not match "
            f"the target's {tuple(target.shape)}"
        )
    real = target != pad_index
    return int(((pred == target) & real).sum()), int(real.sum())


def exact_match(predictions: Sequence[Tokens], references: Sequence[Tokens]) -> float:
    """The fraction of predictions equal to their reference, token for token."""
    _check_parallel("exact_match", predictions, references)
    if not predictions:
        return 0.0
    return sum(list(p) == list(r) for p, r in zip(predictions, references)) / len(predictions)


def corpus_scores(
    hypotheses: Sequence[str], references: Sequence[str], lowercase: bool = False
) -> dict:
    """sacreBLEU's corpus BLEU and chrF (in [0, 100]) of detokenized sentences
    against one reference each, as the test set holds them (sacreBLEU's
    convention: no normalization of the references), with their signatures
    (the settings and sacreBLEU's version: BLEU's 13a tokenization and exp
    smoothing, chrF's character 6-grams), so the numbers compare with
    published ones. `lowercase` compares case-insensitively (the signatures
    say case:lc), for a model whose tokenizer lowercases. No sentences: 0."""
    _check_parallel("corpus_scores", hypotheses, references)
    bleu, chrf = BLEU(lowercase=lowercase), CHRF(lowercase=lowercase)
    if not hypotheses:
        return {"bleu": 0.0, "chrf": 0.0, "bleu_signature": "", "chrf_signature": ""}
    bleu_score = bleu.corpus_score(list(hypotheses), [list(references)]).score
    chrf_score = chrf.corpus_score(list(hypotheses), [list(references)]).score
    return {
        "bleu": bleu_score,
        "chrf": chrf_score,
        "bleu_signature": str(bleu.get_signature()),
        "chrf_signature": str(chrf.get_signature()),
    }


def _check_parallel(name: str, hypotheses: Sequence, references: Sequence) -> None:
    if len(hypotheses) != len(references):
        raise ValueError(
            f"{name}: {len(hypotheses)} hypotheses but {len(references)} references "
            "(one reference per hypothesis)"
        )
