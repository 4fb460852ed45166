"""Encoder-decoder models on the fused layers and attention."""
from .config import Seq2SeqConfig

__all__ = ["Seq2SeqConfig"]
