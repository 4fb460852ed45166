"""Drop-in nn.Modules built on the fused ops."""
from .attention import BahdanauAttention, LuongAttention
from .cells import FusedGRUCell, FusedLSTMCell, FusedRNNCell

__all__ = ["FusedLSTMCell", "FusedGRUCell", "FusedRNNCell", "BahdanauAttention", "LuongAttention"]
