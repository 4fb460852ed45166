"""Drop-in nn.Modules built on the fused ops."""
from .cells import FusedGRUCell, FusedLSTMCell, FusedRNNCell

__all__ = ["FusedLSTMCell", "FusedGRUCell", "FusedRNNCell"]
