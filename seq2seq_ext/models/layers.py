"""The recurrent layer, attention and training loss a model uses, for either
backend: this package's fused modules and ops, or torch.nn's layers with the
pure-PyTorch attention and torch's cross-entropy. Both have the same
parameters, so a state_dict moves between backends."""

import torch
from torch import nn

from .._ops import KERNELS
from ..cell_types import CELL_TYPES
from ..nn import BahdanauAttention, FusedGRU, FusedLSTM, FusedRNN, LuongAttention
from .config import Seq2SeqConfig

_RNN_CLASSES = {
    "fused": {"lstm": FusedLSTM, "gru": FusedGRU, "rnn_tanh": FusedRNN, "rnn_relu": FusedRNN},
    "torch": {"lstm": nn.LSTM, "gru": nn.GRU, "rnn_tanh": nn.RNN, "rnn_relu": nn.RNN},
}


def make_rnn(config: Seq2SeqConfig, input_size: int, bidirectional: bool) -> nn.Module:
    """A batch_first LSTM/GRU/RNN of config.num_layers layers of config.hidden_size."""
    kwargs = dict(
        num_layers=config.num_layers,
        batch_first=True,
        bidirectional=bidirectional,
        dropout=config.dropout if config.num_layers > 1 else 0.0,
    )
    nonlinearity = CELL_TYPES[config.cell].nonlinearity
    if nonlinearity is not None:  # the Elman RNNs
        kwargs["nonlinearity"] = nonlinearity
    return _RNN_CLASSES[config.backend][config.cell](input_size, config.hidden_size, **kwargs)


def make_attention(config: Seq2SeqConfig):
    """The decoder's attention module (query: the decoder's hidden state; keys and
    values: the encoder outputs), or None."""
    query_size, key_size = config.hidden_size, config.encoder_output_size
    if config.attention == "bahdanau":
        return BahdanauAttention(query_size, key_size, config.attn_size, backend=config.backend)
    if config.attention == "none":
        return None
    method = config.attention[len("luong-") :]
    return LuongAttention(query_size, key_size, method=method, backend=config.backend)


def fused_loss_serves(config: Seq2SeqConfig, device) -> bool:
    """Whether the decoder's training loss runs as the fused op
    output_cross_entropy: the fused backend with its kernel on `device`, and
    no autocast region (the op runs its arguments' dtype; under autocast the
    output layer runs in the autocast dtype, as torch.nn's would)."""
    device_type = torch.device(device).type
    return (
        config.backend == "fused"
        and KERNELS.get(("output_cross_entropy", device_type), False)
        and not torch.is_autocast_enabled(device_type)
    )
