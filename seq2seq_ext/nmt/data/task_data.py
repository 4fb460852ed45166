"""The sentence pairs of a task the command line names, generated or read
from files, and its train, valid and test splits, the same every time (a
checkpoint stores the task's options and its tokenizer, so its test split can
be rebuilt).

A text task (``tsv``) reads its training pairs from ``train_data`` (or the
older ``data``; default: the shipped English-French sample), each file a TSV
file or two parallel text files (pairs.read_pairs). ``valid_data`` and
``test_data`` give those splits as files; a split not given is cut from the
training pairs in SPLIT's proportions (with none given, 80/10/10), shuffled
with the run's seed."""

from typing import Optional

from ...errors import InputError
from .pairs import ENG_FRA_SAMPLE, read_pairs
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
GIVEN_SPLITS = ("valid_data", "test_data")  # the options that give valid and test as files


def training_file(options: dict) -> str:
    """The file (or SOURCE,TARGET files) of a text task's training pairs."""
    return options.get("train_data") or options.get("data") or str(ENG_FRA_SAMPLE)


def task_text_pairs(options: dict):
    """The pairs of the task that `options` describes: (source tokens, target
    tokens) of a generated task (task, examples, seed, min_len, max_len, words,
    digits), or the (source, target) text of the training file (train_data or
    data, max_pairs)."""
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
        return read_pairs(training_file(options), options["max_pairs"])
    raise ValueError(f"task must be one of {TASKS}, got {task!r}")


def tokenized(pairs, tokenizer: Tokenizer, options: dict) -> list:
    """Text pairs as (source tokens, target tokens); a generated task's pairs
    are tokens already."""
    if options["task"] != "tsv":
        return list(pairs)
    return [(tokenizer.tokenize(s, "source"), tokenizer.tokenize(t, "target")) for s, t in pairs]


def task_pairs(options: dict, tokenizer: Tokenizer):
    """All of the task's pairs, tokenized."""
    return tokenized(task_text_pairs(options), tokenizer, options)


def fit_tokenizer(options: dict, train_text_pairs) -> Tokenizer:
    """The tokenizer `options` name: its subword models read from the files
    the options name, the others trained on the training split's text
    (task_text_splits(options)[0])."""
    if options["tokenizer"] == "sentencepiece" and options["task"] != "tsv":
        raise InputError("--tokenizer sentencepiece is for text: use it with --task tsv")
    return Tokenizer.fit(
        options["tokenizer"],
        train_text_pairs,
        options["subword_vocab_size"],
        options["subword_type"],
        options["joint_vocab"],
        model_files=subword_model_files(options),
    )


def subword_model_files(options: dict) -> dict:
    """{side: sentencepiece model file} of the sides whose model is given."""
    both = options.get("subword_model")
    files = {side: options.get(f"{side}_subword_model") or both for side in ("source", "target")}
    return {side: path for side, path in files.items() if path}


def task_splits(options: dict, tokenizer: Optional[Tokenizer] = None, text_splits=None):
    """(train, valid, test) lists of the task's pairs, tokenized by `tokenizer`
    (by default the word or character tokenizer `options` name; subwords need
    fit_tokenizer's), from `text_splits` if the caller has read them already.
    An InputError where a split comes out empty."""
    tokenizer = tokenizer or Tokenizer(options["tokenizer"])
    text_splits = text_splits or task_text_splits(options)
    return [tokenized(split, tokenizer, options) for split in text_splits]


def _given(options: dict) -> list:
    """The files given for (valid, test), None where a split is cut from the
    training pairs."""
    return [options.get(name) if options["task"] == "tsv" else None for name in GIVEN_SPLITS]


def _fractions(options: dict) -> tuple:
    """SPLIT with the given splits' shares left in train."""
    valid, test = (0.0 if given else share for given, share in zip(_given(options), SPLIT[1:]))
    return (1 - valid - test, valid, test)


def task_text_splits(options: dict):
    """(train, valid, test) lists of text pairs (a generated task's, tokens):
    the given files' pairs, and the others cut from task_text_pairs(options),
    the same every time; an InputError where a split comes out empty."""
    pairs = task_text_pairs(options)
    given = _given(options)
    if all(given):  # nothing to cut: the training file as it is
        splits = [pairs, None, None]
    else:
        splits = train_valid_test_split(pairs, _fractions(options), seed=options["seed"])
    splits[1:] = [read_pairs(file) if file else split for file, split in zip(given, splits[1:])]
    if not all(splits):
        sizes = ", ".join(f"{name} {len(split)}" for name, split in zip(SPLIT_NAMES, splits))
        if options["task"] == "tsv":
            where = training_file(options)
        else:
            where = f"--examples {options['examples']}"
        raise InputError(
            f"{where}: {len(pairs)} sentence pairs are too few to split into train, valid and"
            f" test ({sizes} after removing repeated pairs); each split needs one, so at least"
            f" {fewest_pairs_to_split(SPLIT)} distinct pairs"
        )
    return splits


def read_test_split(options: dict):
    """The test split's text pairs: the test file's, read alone where one is
    given (the training file is not needed then)."""
    test_file = _given(options)[1]
    return read_pairs(test_file) if test_file else task_text_splits(options)[2]


def reference_texts(options: dict, text_pairs) -> Optional[list]:
    """The targets of a text split as the files hold them (what BLEU and chrF
    compare with, as sacreBLEU's convention wants); None for a generated task,
    whose targets are tokens."""
    return [target for _, target in text_pairs] if options["task"] == "tsv" else None


def describe_splits(options: dict, sizes) -> list:
    """One line per split saying where its `sizes` pairs came from, for the
    run's record (config.yaml's header, result.json)."""
    given, fractions = _given(options), _fractions(options)
    cut = not all(given)
    lines = []
    for index, (name, size) in enumerate(zip(SPLIT_NAMES, sizes)):
        file = given[index - 1] if index > 0 else None
        if file:
            where = f"{GIVEN_SPLITS[index - 1].replace('_', '-')} {file}"
        elif cut:
            where = f"{fractions[index]:.0%} of {_training_source(options)}, shuffled with seed"
            where += f" {options['seed']}"
        else:
            where = _training_source(options)
        lines.append(f"{name}: {size} pairs from {where}")
    return lines


def _training_source(options: dict) -> str:
    if options["task"] != "tsv":
        return f"the generated {options['task']} task"
    for name in ("train_data", "data"):
        if options.get(name):
            return f"{name.replace('_', '-')} {options[name]}"
    return f"the English-French sample {ENG_FRA_SAMPLE}"
