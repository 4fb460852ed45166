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

from ..errors import InputError
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
    """The task's sentence pairs, generated or read from files (task tsv: a
    TSV file or two parallel text files each, data.read_pairs), their train,
    valid and test splits (a split not given as a file is cut from the
    training pairs, 80/10/10 when none is, with the run's seed train.seed),
    and how text becomes tokens."""

    task: str = "reverse_words"  # one of TASKS
    train_data: Optional[str] = None  # tsv: the training pairs (default: the English-French sample)
    valid_data: Optional[str] = None  # tsv: the validation pairs (default: cut from train-data)
    test_data: Optional[str] = None  # tsv: the test pairs (default: cut from train-data)
    data: Optional[str] = None  # tsv: the older name of train_data
    max_pairs: Optional[int] = None  # tsv: read at most this many training pairs
    tokenizer: Optional[str] = None  # default: sentencepiece with a subword model, word for
    # reverse_words and tsv, char otherwise
    subword_model: Optional[str] = None  # sentencepiece: one model file for both sides
    source_subword_model: Optional[str] = None  # sentencepiece: the source side's model file
    target_subword_model: Optional[str] = None  # sentencepiece: the target side's model file
    subword_vocab_size: int = 8000  # sentencepiece: pieces per model learnt
    subword_type: str = "unigram"  # sentencepiece: unigram or bpe, for a model learnt
    joint_vocab: bool = False  # sentencepiece: learn one model for source and target text
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
        for name in (*DATA_FILES, *SUBWORD_MODEL_FILES):
            if getattr(self, name) is not None:
                setattr(self, name, str(getattr(self, name)))  # a Path too; checkpoints store text
        self._check_files()

    def _check_files(self) -> None:
        """The files' options fit together (InputError naming them otherwise)."""
        given = [_option_name(name) for name in DATA_FILES if getattr(self, name)]
        if given and self.task != "tsv":
            raise InputError(f"{', '.join(given)}: files of text are read by --task tsv, add it")
        if self.train_data and self.data:
            raise InputError("give train-data or data (its older name), not both")
        models = [_option_name(name) for name in SUBWORD_MODEL_FILES if getattr(self, name)]
        if models and self.tokenizer_kind != "sentencepiece":
            raise InputError(f"{models[0]} is a sentencepiece model: use --tokenizer sentencepiece")
        if self.subword_model and len(models) > 1:
            raise InputError(
                "subword-model is one model for both sides: give it, or source-subword-model"
                " and target-subword-model, not both"
            )
        if self.joint_vocab and models and not self.subword_model:
            raise InputError(
                f"joint-vocab learns one model for both sides, but {models[0]} gives one side's:"
                " give one model for both (subword-model), or leave joint-vocab out"
            )

    @property
    def tokenizer_kind(self) -> str:
        """The tokenizer, its default resolved by the subword models and the task."""
        if self.tokenizer is not None:
            return self.tokenizer
        if any(getattr(self, name) for name in SUBWORD_MODEL_FILES):
            return "sentencepiece"
        return "word" if self.task in ("reverse_words", "tsv") else "char"

    def task_options(self, seed: int) -> dict:
        """The options the data functions (task_splits, ...) take, and a
        checkpoint stores as extra["data"] to rebuild the test split."""
        return {**asdict(self), "tokenizer": self.tokenizer_kind, "seed": seed}


# The data section's files: of the pairs, and of the subword models.
DATA_FILES = ("train_data", "valid_data", "test_data", "data")
SUBWORD_MODEL_FILES = ("subword_model", "source_subword_model", "target_subword_model")


def _option_name(field_name: str) -> str:
    return field_name.replace("_", "-")


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
