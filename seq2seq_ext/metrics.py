"""Evaluation metrics for sequence-to-sequence outputs.

``token_accuracy`` and ``exact_match`` return fractions in [0, 1];
``corpus_bleu`` and ``chrf`` return scores in [0, 100] that match sacrebleu's
``corpus_bleu(..., tokenize="none")`` and ``corpus_chrf`` for one reference
per hypothesis.

Sequences are compared as given: cut predictions at ``<eos>`` and drop
padding first (``Vocab.decode`` does both).
"""

import math
from collections import Counter
from typing import Sequence, Union

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


def corpus_bleu(
    hypotheses: Sequence[Tokens], references: Sequence[Tokens], max_n: int = 4, smooth: bool = False
) -> float:
    """Corpus BLEU (Papineni et al., 2002) of token lists, one reference each.

    For each n in 1..max_n, the clipped n-gram matches (a hypothesis n-gram
    counts at most as often as it is in the reference) and the hypothesis
    n-grams are summed over the corpus; their ratio is the precision p_n.
    BLEU = BP * exp(mean_n log p_n), with the brevity penalty
    BP = exp(1 - r / c) when the total hypothesis length c is below the total
    reference length r, else 1.

    Without ``smooth`` a zero p_n makes BLEU 0. With it, the k-th zero
    precision becomes 1 / (2**k * hypothesis n-grams) (sacrebleu's "exp",
    mteval's smoothing), which matters for short or few sentences.
    """
    _check_parallel("corpus_bleu", hypotheses, references)
    matches, totals = [0] * max_n, [0] * max_n
    hyp_length = ref_length = 0
    for hypothesis, reference in zip(hypotheses, references):
        hyp_length += len(hypothesis)
        ref_length += len(reference)
        for n in range(1, max_n + 1):
            hyp_ngrams, ref_ngrams = _ngrams(hypothesis, n), _ngrams(reference, n)
            matches[n - 1] += sum((hyp_ngrams & ref_ngrams).values())
            totals[n - 1] += sum(hyp_ngrams.values())
    if not any(matches) or not all(totals):
        return 0.0
    log_precisions, zeros = [], 0
    for match, total in zip(matches, totals):
        if match == 0:
            if not smooth:
                return 0.0
            zeros += 1
            match = 1 / 2**zeros
        log_precisions.append(math.log(match / total))
    brevity_penalty = math.exp(1 - ref_length / hyp_length) if hyp_length < ref_length else 1.0
    return 100 * brevity_penalty * math.exp(sum(log_precisions) / max_n)


def chrf(
    hypotheses: Sequence[Union[str, Tokens]],
    references: Sequence[Union[str, Tokens]],
    char_order: int = 6,
    beta: float = 2,
) -> float:
    """Corpus chrF (Popović, 2015) as sacrebleu computes it (word_order=0).

    Sentences are strings or token lists; spaces are removed either way. For
    each n in 1..char_order, character n-gram matches, hypothesis and
    reference n-grams are summed over the corpus, giving a precision P_n and
    a recall R_n. P and R are their means over the orders that occur in both
    hypotheses and references, and chrF = (1 + b^2) P R / (b^2 P + R) with
    b = ``beta`` (recall weighs b times as much as precision).
    """
    _check_parallel("chrf", hypotheses, references)
    matches, hyp_counts, ref_counts = [0] * char_order, [0] * char_order, [0] * char_order
    for hypothesis, reference in zip(hypotheses, references):
        hyp_chars, ref_chars = _without_spaces(hypothesis), _without_spaces(reference)
        for n in range(1, char_order + 1):
            hyp_ngrams, ref_ngrams = _ngrams(hyp_chars, n), _ngrams(ref_chars, n)
            matches[n - 1] += sum((hyp_ngrams & ref_ngrams).values())
            hyp_counts[n - 1] += sum(hyp_ngrams.values())
            ref_counts[n - 1] += sum(ref_ngrams.values())
    orders = [n for n in range(char_order) if hyp_counts[n] and ref_counts[n]]
    if not orders:
        return 0.0
    precision = sum(matches[n] / hyp_counts[n] for n in orders) / len(orders)
    recall = sum(matches[n] / ref_counts[n] for n in orders) / len(orders)
    if precision + recall == 0:
        return 0.0
    b2 = beta**2
    return 100 * (1 + b2) * precision * recall / (b2 * precision + recall)


def _ngrams(sequence: Sequence, n: int) -> Counter:
    return Counter(tuple(sequence[i : i + n]) for i in range(len(sequence) - n + 1))


def _without_spaces(sentence: Union[str, Tokens]) -> str:
    text = sentence if isinstance(sentence, str) else " ".join(sentence)
    return "".join(text.split())


def _check_parallel(name: str, hypotheses: Sequence, references: Sequence) -> None:
    if len(hypotheses) != len(references):
        raise ValueError(
            f"{name}: {len(hypotheses)} hypotheses but {len(references)} references "
            "(one reference per hypothesis)"
        )
