"""Drop-in nn.Modules built on the fused ops."""

from .attention import BahdanauAttention, LuongAttention
from .cells import FusedGRUCell, FusedLSTMCell, FusedRNNCell
from .rnn import FusedGRU, FusedLSTM, FusedRNN

__all__ = [
    "FusedLSTM",
    "FusedGRU",
    "FusedRNN",
    "FusedLSTMCell",
    "FusedGRUCell",
    "FusedRNNCell",
    "BahdanauAttention",
    "LuongAttention",
]
