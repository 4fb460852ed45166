"""Synthetic sequence-to-sequence tasks and a seeded train/valid/test split.

Every generator returns a list of ``(source_tokens, target_tokens)`` pairs and
is deterministic: the same arguments and ``seed`` give the same pairs. The
tokens have no start/end markers: ``Vocab.encode`` and ``collate`` add the
vocabulary's ``<sos>``/``<eos>``.
"""

import random
from typing import Sequence, Union

import torch

Pair = tuple[list[str], list[str]]

DEFAULT_WORDS = (
    "the",
    "a",
    "cat",
    "dog",
    "bird",
    "fish",
    "sat",
    "ran",
    "saw",
    "ate",
    "big",
    "small",
    "red",
    "blue",
    "old",
    "on",
    "under",
    "near",
    "mat",
    "tree",
)

SIGNS = {1: "POSITIVE", -1: "NEGATIVE"}
OPERATIONS = {"add": lambda a, b: a + b, "subtract": lambda a, b: a - b}


def addition_pairs(n: int, digits: int, seed: int = 0) -> list[Pair]:
    """Add two ``digits``-digit numbers, character by character::

        source: ["1", "2", "3", "+", "4", "5", "6"]   (the characters of "123+456")
        target: ["5", "7", "9"]                       (the characters of "579")

    The operands are drawn uniformly from the ``digits``-digit numbers
    (0-9 when ``digits`` is 1); the sum has no leading zeros, so it has
    ``digits`` or ``digits + 1`` characters.
    """
    if digits < 1:
        raise ValueError(f"addition_pairs: digits must be >= 1, got {digits}")
    rng = random.Random(seed)
    low, high = (0 if digits == 1 else 10 ** (digits - 1)), 10**digits - 1
    pairs = []
    for _ in range(n):
        a, b = rng.randint(low, high), rng.randint(low, high)
        pairs.append((list(f"{a}+{b}"), list(str(a + b))))
    return pairs


MARKER = 10  # the token of the task's -1 marker; the digits are tokens 0-9


def add_two_digits_examples(n: int, length: int, seed: int = 0):
    """The add-two-digits classification task: ``length`` random digits, one of them
    (at a position before the last two) replaced by the marker; the label is the
    digit after the marker plus the last digit, a class in [0, 18]::

        tokens: [1, 10, 3, 7, 8, 9]  ->  label 3 + 9 = 12

    Returns tokens (n, length) int64 and labels (n,) int64.
    """
    if length < 3:
        raise ValueError(f"add_two_digits_examples: length must be >= 3, got {length}")
    generator = torch.Generator().manual_seed(seed)
    tokens = torch.randint(10, (n, length), generator=generator)
    marker_at = torch.randint(0, length - 2, (n,), generator=generator)
    rows = torch.arange(n)
    tokens[rows, marker_at] = MARKER
    return tokens, tokens[rows, marker_at + 1] + tokens[:, -1]


def reverse_words_pairs(
    n: int,
    min_words: int = 3,
    max_words: int = 10,
    words: Union[Sequence[str], int] = DEFAULT_WORDS,
    seed: int = 0,
) -> list[Pair]:
    """Sentences of ``min_words`` to ``max_words`` words drawn uniformly from
    ``words``; the target is the same words in reverse order::

        source: ["the", "cat", "sat"]  ->  target: ["sat", "cat", "the"]

    ``words`` is a word list, or a vocabulary size k for the words w0 .. w{k-1}.
    """
    if isinstance(words, int):
        words = [f"w{i}" for i in range(words)]
    if not 1 <= min_words <= max_words or not words:
        raise ValueError(
            f"reverse_words_pairs: need 1 <= min_words <= max_words and a "
            f"non-empty word list, got {min_words}, {max_words}, {len(words)} words"
        )
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        sentence = [rng.choice(words) for _ in range(rng.randint(min_words, max_words))]
        pairs.append((sentence, sentence[::-1]))
    return pairs


def arithmetic_pairs(
    n: int, digits: int = 2, operations: Sequence[str] = ("add", "subtract"), seed: int = 0
) -> list[Pair]:
    """Signed arithmetic in the token format of the seed's transformer task,
    where ``BOS POSITIVE 04 add NEGATIVE 11 EOS`` gives ``BOS NEGATIVE 07 EOS``.
    Numbers are zero-padded to ``digits`` digits and split into one token per
    digit; the seed's BOS/EOS are left to the vocabulary's ``<sos>``/``<eos>``::

        source: ["POSITIVE", "0", "4", "add", "NEGATIVE", "1", "1"]
        target: ["NEGATIVE", "0", "7"]

    Operands are uniform in ``[0, 10**digits)`` with a random sign; pairs
    whose result does not fit in ``digits`` digits are redrawn, so every
    source has ``2 * digits + 3`` tokens and every target ``digits + 1``.
    Zero is written ``POSITIVE``.
    """
    unknown = [op for op in operations if op not in OPERATIONS]
    if digits < 1 or not operations or unknown:
        raise ValueError(
            f"arithmetic_pairs: need digits >= 1 and operations from "
            f"{list(OPERATIONS)}, got digits={digits}, operations={operations}"
        )
    rng = random.Random(seed)
    limit = 10**digits

    def number(value: int) -> list[str]:
        return [SIGNS[-1 if value < 0 else 1]] + list(f"{abs(value):0{digits}d}")

    pairs = []
    while len(pairs) < n:
        a = rng.randrange(limit) * rng.choice((1, -1))
        b = rng.randrange(limit) * rng.choice((1, -1))
        operation = rng.choice(operations)
        result = OPERATIONS[operation](a, b)
        if abs(result) < limit:
            pairs.append((number(a) + [operation] + number(b), number(result)))
    return pairs


def train_valid_test_split(
    pairs: Sequence, fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0
) -> list[list]:
    """Shuffle ``pairs`` with ``seed`` and cut them into ``len(fractions)``
    splits (usually train, valid, test) of about those fractions.

    Repeated pairs are kept once (the first time they appear), so no pair is
    in two splits; the splits may be a little smaller than the fractions of
    ``len(pairs)`` for that reason.
    """
    if not fractions or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(
            f"train_valid_test_split: fractions must be >= 0 and sum to 1, got {list(fractions)}"
        )
    unique = {}
    for pair in pairs:
        unique.setdefault(tuple(map(tuple, pair)), pair)
    shuffled = list(unique.values())
    random.Random(seed).shuffle(shuffled)
    splits, start = [], 0
    for size in split_sizes(len(shuffled), fractions):
        splits.append(shuffled[start : start + size])
        start += size
    return splits


def split_sizes(count: int, fractions: Sequence[float]) -> list[int]:
    """The sizes of train_valid_test_split's splits of `count` distinct pairs:
    each split ends at the rounded cumulative fraction."""
    ends = [round(sum(fractions[: i + 1]) * count) for i in range(len(fractions))]
    return [end - start for start, end in zip([0, *ends], ends)]


def fewest_pairs_to_split(fractions: Sequence[float]) -> int:
    """The fewest distinct pairs that give each split of a positive fraction a pair."""
    count = 1
    while any(size < 1 for size, f in zip(split_sizes(count, fractions), fractions) if f > 0):
        count += 1
    return count
