"""Encoder-decoder models on the fused layers and attention."""

from .config import Seq2SeqConfig
from .decoder import AttentionDecoder, Memory
from .encoder import Encoder
from .inference import InferenceSeq2Seq
from .search import Decoded
from .seq2seq import Seq2Seq

__all__ = [
    "Seq2SeqConfig",
    "Seq2Seq",
    "InferenceSeq2Seq",
    "Encoder",
    "AttentionDecoder",
    "Memory",
    "Decoded",
]
