"""The sentence pairs of a task the command line names, generated or read
from a TSV file, and split into train, valid and test the same way every time
(a checkpoint stores the task's options and its tokenizer, so its test split
can be rebuilt)."""

from typing import Optional

from ...errors import InputError
from .pairs import ENG_FRA_SAMPLE, read_tsv_pairs
from .tasks import (
    addition_pairs,
    arithmetic_pairs,
    fewest_pairs_to_split,
    reverse_words_pairs,
    train_valid_test_split,
)
from .tokenize import Tokenizer

TASKS = ("reverse_words", "arithmetic", "addition", "tsv")
SPLIT = (0.8, 0.1, 0.1)  # train, valid, test
SPLIT_NAMES = ("train", "valid", "test")


def task_text_pairs(options: dict):
    """The pairs of the task that `options` describes: (source tokens, target
    tokens) of a generated task (task, examples, seed, min_len, max_len, words,
    digits), or the (source, target) text of a TSV file (data, max_pairs)."""
    task, count, seed = options["task"], options["examples"], options["seed"]
    if task == "reverse_words":
        return reverse_words_pairs(
            count, options["min_len"], options["max_len"], words=options["words"], seed=seed
        )
    if task == "arithmetic":
        return arithmetic_pairs(count, digits=options["digits"], seed=seed)
    if task == "addition":
        return addition_pairs(count, digits=options["digits"], seed=seed)
    if task == "tsv":
        return read_tsv_pairs(options["data"] or ENG_FRA_SAMPLE, options["max_pairs"])
    raise ValueError(f"task must be one of {TASKS}, got {task!r}")


def tokenized(pairs, tokenizer: Tokenizer, options: dict) -> list:
    """Text pairs as (source tokens, target tokens); a generated task's pairs
    are tokens already."""
    if options["task"] != "tsv":
        return list(pairs)
    return [(tokenizer.tokenize(s, "source"), tokenizer.tokenize(t, "target")) for s, t in pairs]


def task_pairs(options: dict, tokenizer: Tokenizer):
    """All of the task's pairs, tokenized (evaluate --data)."""
    return tokenized(task_text_pairs(options), tokenizer, options)


def fit_tokenizer(options: dict, train_text_pairs) -> Tokenizer:
    """The tokenizer `options` name, its subword models (if any) trained on
    the training split's text (task_text_splits(options)[0])."""
    if options["tokenizer"] == "sentencepiece" and options["task"] != "tsv":
        raise InputError("--tokenizer sentencepiece is for text: use it with --task tsv")
    return Tokenizer.fit(
        options["tokenizer"],
        train_text_pairs,
        options["subword_vocab_size"],
        options["subword_type"],
        options["joint_vocab"],
    )


def task_splits(options: dict, tokenizer: Optional[Tokenizer] = None, text_splits=None):
    """(train, valid, test) lists of the task's pairs, tokenized by `tokenizer`
    (by default the word or character tokenizer `options` name; subwords need
    fit_tokenizer's), from `text_splits` if the caller has read them already.
    An InputError where a split comes out empty."""
    tokenizer = tokenizer or Tokenizer(options["tokenizer"])
    text_splits = text_splits or task_text_splits(options)
    return [tokenized(split, tokenizer, options) for split in text_splits]


def task_text_splits(options: dict):
    """(train, valid, test) lists of task_text_pairs(options), the same every
    time; an InputError where a split comes out empty."""
    pairs = task_text_pairs(options)
    splits = train_valid_test_split(pairs, SPLIT, seed=options["seed"])
    if not all(splits):
        sizes = ", ".join(f"{name} {len(split)}" for name, split in zip(SPLIT_NAMES, splits))
        if options["task"] == "tsv":
            where = options["data"] or ENG_FRA_SAMPLE
        else:
            where = f"--examples {options['examples']}"
        raise InputError(
            f"{where}: {len(pairs)} sentence pairs are too few to split into train, valid and"
            f" test ({sizes} after removing repeated pairs); each split needs one, so at least"
            f" {fewest_pairs_to_split(SPLIT)} distinct pairs"
        )
    return splits
