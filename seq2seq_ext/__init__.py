"""seq2seq_ext: fused C++/CUDA kernels for recurrent sequence-to-sequence models,
wrapped as drop-in ``torch.nn`` modules, and encoder-decoder models on them.
It needs torch (and numpy) only.

Submodules: ``nn`` (the Fused modules, attention), ``functional`` and
``reference`` (the ops, and their pure-PyTorch definitions), ``models``
(Seq2Seq, search, for_inference), ``convert``, ``flops``; and ``nmt``, the
translation toolkit (data, Trainer, Translator, metrics, plots, the command
line ``python -m seq2seq_ext``), whose dependencies are the ``nmt`` extra."""

from . import functional, reference
from ._ops import backend_info, backend_summary
from .convert import compile, convert
from .models import Seq2Seq, Seq2SeqConfig
from .nn import (
    BahdanauAttention,
    FusedGRU,
    FusedGRUCell,
    FusedLSTM,
    FusedLSTMCell,
    FusedRNN,
    FusedRNNCell,
    LuongAttention,
)

__version__ = "0.1.0"

__all__ = [
    "FusedLSTM",
    "FusedGRU",
    "FusedRNN",
    "FusedLSTMCell",
    "FusedGRUCell",
    "FusedRNNCell",
    "BahdanauAttention",
    "LuongAttention",
    "Seq2Seq",
    "Seq2SeqConfig",
    "backend_info",
    "backend_summary",
    "compile",
    "convert",
    "functional",
    "reference",
]
