"""The run config: one typed description of a training run, what
``python -m seq2seq_ext train``, the examples and ``seq2seq_ext.nmt.train(cfg)``
run. Four sections and a few run-level fields:

- ``data`` (DataConfig): the task, its sentence pairs and the tokenizer;
- ``model`` (``seq2seq_ext.models.Seq2SeqConfig``): the network; its
  vocabulary sizes and special-token indices come from the data's vocabularies
  when the run builds the model, so the section's are placeholders;
- ``train`` (``seq2seq_ext.nmt.trainer.TrainConfig``): optimisation, the
  teacher-forcing schedule, early stopping, logging, and the run's seed;
- ``decode`` (DecodeConfig): how the test split is decoded (train, evaluate)
  and text translated (translate);
- ``out``, ``device``, ``restart``.

::

    cfg = load_config("configs/reverse_words.yaml", argv=["--epochs", "5"])  # options.py
    cfg = RunConfig(data=DataConfig(task="arithmetic"), model=model_config(cell="lstm"))
    metrics = seq2seq_ext.nmt.train(cfg)

The names are the fields'; every field is also a command-line option and a key
of the old flat config files (options.py maps them: the same name, but for the
model's ``embedding``, ``hidden`` and ``layers``, the train section's
``no-progress`` and the decode section's ``decode-batch-size``). The defaults
are the dataclasses' own; the model section's are Seq2SeqConfig's but for the
two in MODEL_DEFAULTS, stated here once (Seq2SeqConfig keeps its own for the
library's users).
"""

from dataclasses import asdict, dataclass, field, replace
from typing import Optional

import torch

from ..models import Seq2SeqConfig
from ..models.inference import PRECISIONS
from .data import EOS_INDEX, PAD_INDEX, SOS_INDEX, TASKS, TOKENIZER_KINDS
from .data.subwords import SUBWORD_TYPES
from .trainer import TrainConfig

__all__ = [
    "DataConfig",
    "DecodeConfig",
    "MODEL_DEFAULTS",
    "RunConfig",
    "TrainConfig",
    "model_config",
]

# The run's model, where it differs from Seq2SeqConfig's defaults (128 and
# 256, which the library's users, tests and benchmarks build with).
MODEL_DEFAULTS = {"embedding_size": 64, "hidden_size": 128}
# Fields of the model section that the data sets (train replaces them).
FROM_DATA = ("src_vocab_size", "tgt_vocab_size", "pad_index", "sos_index", "eos_index")


def _check_choice(owner: str, name: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"{owner}: {name} must be one of {tuple(allowed)}, got {value!r}")


@dataclass
class DataConfig:
    """The task's sentence pairs (generated, or read from a TSV file), split
    80/10/10 with the run's seed (train.seed), and how text becomes tokens."""

    task: str = "reverse_words"  # one of TASKS
    data: Optional[str] = None  # tsv: the file (default: the English-French sample)
    max_pairs: Optional[int] = None  # tsv: read at most this many pairs
    tokenizer: Optional[str] = None  # default: word for reverse_words and tsv, char otherwise
    subword_vocab_size: int = 8000  # sentencepiece: pieces per model
    subword_type: str = "unigram"  # sentencepiece: unigram or bpe
    joint_vocab: bool = False  # sentencepiece: one model for source and target text
    examples: int = 20000  # generated pairs
    min_len: int = 3  # reverse_words: words per sentence
    max_len: int = 10
    words: int = 40  # reverse_words: vocabulary size
    digits: int = 3  # arithmetic, addition: digits per number
    max_tokens: Optional[int] = None  # drop longer pairs from the batches

    def __post_init__(self) -> None:
        _check_choice("DataConfig", "task", self.task, TASKS)
        _check_choice("DataConfig", "tokenizer", self.tokenizer, (None, *TOKENIZER_KINDS))
        _check_choice("DataConfig", "subword_type", self.subword_type, SUBWORD_TYPES)
        if self.data is not None:
            self.data = str(self.data)  # a Path too; checkpoints store text

    @property
    def tokenizer_kind(self) -> str:
        """The tokenizer, its default resolved by the task."""
        if self.tokenizer is not None:
            return self.tokenizer
        return "word" if self.task in ("reverse_words", "tsv") else "char"

    def task_options(self, seed: int) -> dict:
        """The options the data functions (task_splits, ...) take, and a
        checkpoint stores as extra["data"] to rebuild the test split."""
        return {**asdict(self), "tokenizer": self.tokenizer_kind, "seed": seed}


@dataclass
class DecodeConfig:
    """Greedy decoding (beam 1) or beam search, and the precision of the
    decoder's matrices (bfloat16, int8: on the CPU)."""

    beam: int = 1  # beam size (1: greedy)
    decode_len: int = 60  # the longest output, in tokens
    length_penalty: float = 0.0  # beam: alpha of GNMT's
    weights: str = "float32"  # one of PRECISIONS
    batch_size: int = 64  # sentences decoded at once

    def __post_init__(self) -> None:
        _check_choice("DecodeConfig", "weights", self.weights, PRECISIONS)

    def translator_options(self) -> dict:
        """The Translator's keyword arguments."""
        return {
            "beam_size": self.beam,
            "max_len": self.decode_len,
            "length_penalty": self.length_penalty,
            "batch_size": self.batch_size,
            "weights": self.weights,
        }


def model_config(**fields) -> Seq2SeqConfig:
    """The run's model section: Seq2SeqConfig with the run's defaults
    (MODEL_DEFAULTS) and `fields`; its vocabulary sizes are placeholders."""
    return Seq2SeqConfig(**{"src_vocab_size": 1, "tgt_vocab_size": 1, **MODEL_DEFAULTS, **fields})


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: Seq2SeqConfig = field(default_factory=model_config)
    train: TrainConfig = field(default_factory=TrainConfig)
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    out: str = "runs/train"  # the run's folder: config.yaml, checkpoints, logs, result.json
    device: str = field(default_factory=default_device)
    restart: bool = False  # ignore out/last.pt instead of resuming from it

    def __post_init__(self) -> None:
        self.out = str(self.out)

    def task_options(self) -> dict:
        """The data section as the data functions take it (with the run's seed)."""
        return self.data.task_options(self.train.seed)

    def model_for(self, src_vocab_size: int, tgt_vocab_size: int) -> Seq2SeqConfig:
        """The model section with the data's vocabulary sizes and special tokens."""
        return replace(
            self.model,
            src_vocab_size=src_vocab_size,
            tgt_vocab_size=tgt_vocab_size,
            pad_index=PAD_INDEX,
            sos_index=SOS_INDEX,
            eos_index=EOS_INDEX,
        )
