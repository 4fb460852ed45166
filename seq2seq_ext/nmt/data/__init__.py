"""Data for the example tasks: vocabularies, tokenizers, sentence pairs from
TSV files, synthetic task generators, and padded, length-bucketed batches."""

from .batching import Batch, BucketBatchSampler, Seq2SeqDataset, collate, make_loader, pad_sequences
from .pairs import ENG_FRA_SAMPLE, read_lines, read_tsv_pairs
from .task_data import (
    SPLIT,
    TASKS,
    fit_tokenizer,
    task_pairs,
    task_splits,
    task_text_pairs,
    task_text_splits,
)
from .tasks import (
    add_two_digits_examples,
    addition_pairs,
    arithmetic_pairs,
    reverse_words_pairs,
    train_valid_test_split,
)
from .tokenize import (
    TOKENIZER_KINDS,
    TOKENIZERS,
    Tokenizer,
    char_tokenize,
    detokenize,
    word_tokenize,
)
from .vocab import (
    EOS,
    EOS_INDEX,
    PAD,
    PAD_INDEX,
    SOS,
    SOS_INDEX,
    SPECIAL_TOKENS,
    UNK,
    UNK_INDEX,
    Vocab,
)

__all__ = [
    "Vocab",
    "PAD",
    "SOS",
    "EOS",
    "UNK",
    "SPECIAL_TOKENS",
    "PAD_INDEX",
    "SOS_INDEX",
    "EOS_INDEX",
    "UNK_INDEX",
    "word_tokenize",
    "char_tokenize",
    "detokenize",
    "TOKENIZERS",
    "TOKENIZER_KINDS",
    "Tokenizer",
    "read_tsv_pairs",
    "read_lines",
    "ENG_FRA_SAMPLE",
    "add_two_digits_examples",
    "addition_pairs",
    "reverse_words_pairs",
    "arithmetic_pairs",
    "train_valid_test_split",
    "TASKS",
    "SPLIT",
    "task_pairs",
    "task_splits",
    "task_text_pairs",
    "task_text_splits",
    "fit_tokenizer",
    "Seq2SeqDataset",
    "Batch",
    "collate",
    "pad_sequences",
    "BucketBatchSampler",
    "make_loader",
]
