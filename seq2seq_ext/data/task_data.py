"""The sentence pairs of a task the command line names, generated or read
from a TSV file, and split into train, valid and test the same way every time
(a checkpoint stores the task's options, so its test split can be rebuilt)."""

from ..errors import InputError
from .pairs import ENG_FRA_SAMPLE, read_tsv_pairs
from .tasks import addition_pairs, arithmetic_pairs, reverse_words_pairs, train_valid_test_split
from .tokenize import TOKENIZERS

TASKS = ("reverse_words", "arithmetic", "addition", "tsv")
SPLIT = (0.8, 0.1, 0.1)  # train, valid, test
SPLIT_NAMES = ("train", "valid", "test")


def task_pairs(options: dict):
    """The (source tokens, target tokens) pairs of the task that `options`
    describes: task, examples, seed, min_len, max_len, words, digits (generated
    tasks); data, max_pairs, tokenizer (tsv)."""
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
        tokenize = TOKENIZERS[options["tokenizer"]]
        path = options["data"] or ENG_FRA_SAMPLE
        return [
            (tokenize(source, lowercase=True), tokenize(target, lowercase=True))
            for source, target in read_tsv_pairs(path, options["max_pairs"])
        ]
    raise ValueError(f"task must be one of {TASKS}, got {task!r}")


def task_splits(options: dict):
    """(train, valid, test) lists of the task's pairs (see task_pairs); an
    InputError where a split comes out empty."""
    pairs = task_pairs(options)
    splits = train_valid_test_split(pairs, SPLIT, seed=options["seed"])
    if not all(splits):
        sizes = ", ".join(f"{name} {len(split)}" for name, split in zip(SPLIT_NAMES, splits))
        raise InputError(
            f"{len(pairs)} sentence pairs are too few to split into train, valid and test"
            f" ({sizes} after removing repeated pairs); each split needs at least one pair"
        )
    return splits
