"""seq2seq_ext: fused C++/CUDA kernels for recurrent sequence-to-sequence models,
wrapped as drop-in ``torch.nn`` modules."""
from . import functional, reference
from ._ops import backend_info
from .nn import (BahdanauAttention, FusedGRU, FusedGRUCell, FusedLSTM, FusedLSTMCell, FusedRNN,
                 FusedRNNCell, LuongAttention)

__version__ = "0.1.0"

__all__ = [
    "FusedLSTM", "FusedGRU", "FusedRNN", "FusedLSTMCell", "FusedGRUCell", "FusedRNNCell",
    "BahdanauAttention", "LuongAttention",
    "backend_info", "functional", "reference",
]
