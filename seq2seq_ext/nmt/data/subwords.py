"""Subword tokenization with sentencepiece, trained and kept in memory.

A ``SubwordModel`` is one sentencepiece model (unigram or BPE) trained on a
task's text, or read from a ``.model`` file that sentencepiece wrote (shared
with another system, or learnt on more text). Its bytes go into the
checkpoint, so a checkpoint alone tokenizes and detokenizes, with no model
file beside it::

    model = SubwordModel.train(sentences, vocab_size=150, subword_type="bpe")
    model.encode("They read the letter.")  # ["▁They", "▁read", "▁the", "▁let", "te", "r", "."]
    SubwordModel(model.to_bytes())          # the same model again
    SubwordModel.load("spm.model")          # a model file, used as it is

Training is reproducible: the same sentences and options give the same bytes.
Text keeps its case and goes through sentencepiece's default ``nmt_nfkc``
normalization (NFKC, runs of spaces collapsed), so ``decode(encode(text))``
is the normalized text.
"""

import io
import re
from typing import Optional, Sequence

import sentencepiece

from ...errors import InputError

SUBWORD_TYPES = ("unigram", "bpe")

_TRAINER_OPTIONS = dict(
    character_coverage=1.0,  # every character of the text is a piece: small data, any script
    bos_id=-1,  # no <s> and </s>: the package's Vocab adds <sos> and <eos>
    eos_id=-1,
    input_sentence_size=0,  # all sentences: sentencepiece samples a subset differently per process
    num_threads=16,  # sentencepiece's default, fixed: unigram pieces depend on the thread count
    minloglevel=2,  # errors only; training logs pages on stderr otherwise
)
# sentencepiece's errors for a size the text cannot give, e.g. "Vocabulary size too high
# (200). Please set it to a value <= 155." and "Vocabulary size is smaller than
# required_chars. 30 vs 41.": the pattern (capturing the limit), the size's fault, what the
# limit means, and on which side of it to stay.
_SIZE_LIMITS = (
    (
        re.compile(r"Vocabulary size (?:is )?too high(?:.*?<= (\d+))?"),
        "large",
        "a {subword_type} model of it has at most {limit} pieces",
        "or less",
    ),
    (
        re.compile(r"Vocabulary size is smaller than required_chars(?:\. \d+ vs (\d+))?"),
        "small",
        "its characters and <unk> need {limit} pieces",
        "or more",
    ),
)


class SubwordModel:
    """One trained sentencepiece model (unigram or BPE)."""

    def __init__(self, model_bytes: bytes) -> None:
        """The model that ``to_bytes`` gave; ValueError for other bytes."""
        self._model_bytes = model_bytes
        self._processor = sentencepiece.SentencePieceProcessor()
        try:
            self._processor.LoadFromSerializedProto(model_bytes)
        except RuntimeError as error:
            raise ValueError(
                f"not a sentencepiece model ({len(model_bytes)} bytes): sentencepiece says {error}"
            ) from None

    @classmethod
    def load(cls, path) -> "SubwordModel":
        """The sentencepiece model in the file at `path`, as it is; InputError
        naming the file if it cannot be read or is not a sentencepiece model."""
        try:
            with open(path, "rb") as file:
                model_bytes = file.read()
        except OSError as error:
            raise InputError(f"{path}: cannot read the file ({error.strerror})") from None
        try:
            return cls(model_bytes)
        except ValueError:
            raise InputError(
                f"{path}: not a sentencepiece model (sentencepiece cannot read its"
                f" {len(model_bytes)} bytes); give a .model file that sentencepiece wrote"
            ) from None

    @classmethod
    def train(
        cls,
        sentences: Sequence[str],
        vocab_size: int,
        subword_type: str = "unigram",
        what: str = "the training data",
    ) -> "SubwordModel":
        """A model of ``vocab_size`` pieces (``<unk>`` included) learnt from
        ``sentences``. A size the text cannot give and text without a
        character raise InputError naming ``what``."""
        if subword_type not in SUBWORD_TYPES:
            raise ValueError(f"subword type must be one of {SUBWORD_TYPES}, got {subword_type!r}")
        if not any(sentence.strip() for sentence in sentences):
            raise InputError(f"{what}: no text to learn subwords from")
        model_writer = io.BytesIO()
        try:
            sentencepiece.SentencePieceTrainer.train(
                sentence_iterator=iter(sentences),
                model_writer=model_writer,
                model_type=subword_type,
                vocab_size=vocab_size,
                **_TRAINER_OPTIONS,
            )
        except RuntimeError as error:
            size_error = _size_error(str(error), vocab_size, subword_type, what)
            if size_error is None:
                raise
            raise size_error from error
        return cls(model_writer.getvalue())

    def encode(self, text: str) -> list[str]:
        """The pieces of ``text``; a character the model lacks stays a piece of its own."""
        return self._processor.encode(text, out_type=str)

    def decode(self, pieces: Sequence[str]) -> str:
        """The text of ``pieces``: ``<unk>`` becomes ``" ⁇ "``, another piece the
        model lacks stays as it is."""
        return self._processor.decode_pieces(list(pieces))

    def to_bytes(self) -> bytes:
        """The serialized model, for ``SubwordModel(model_bytes)``."""
        return self._model_bytes

    def __len__(self) -> int:
        return self._processor.get_piece_size()


def _size_error(
    message: str, vocab_size: int, subword_type: str, what: str
) -> Optional[InputError]:
    """The InputError for sentencepiece's vocabulary-size error ``message``
    (with the size limit where the message gives it), or None for another error."""
    for pattern, fault, meaning, side in _SIZE_LIMITS:
        match = pattern.search(message)
        if match is None:
            continue
        limit = match.group(1)
        advice = (
            f"{meaning.format(subword_type=subword_type, limit=limit)};"
            f" use --subword-vocab-size {limit} {side}"
            if limit
            else f"use a {'smaller' if fault == 'large' else 'larger'} --subword-vocab-size"
        )
        return InputError(
            f"subword vocabulary size {vocab_size} is too {fault} for {what}: {advice}"
        )
    return None
