"""The ops as functions, with the arguments and results of ``torch._VF``'s
cells: ``lstm_cell(input, (h, c), w_ih, w_hh, b_ih, b_hh) -> (h', c')``,
``gru_cell`` / ``rnn_tanh_cell`` / ``rnn_relu_cell(input, h, ...) -> h'``.

Each runs the compiled kernel for the tensors' device when there is one, and
``reference`` otherwise (see ``seq2seq_ext.backend_info()``).
"""
import torch

from . import reference
from ._ops import KERNELS


def _use_kernel(op: str, input: torch.Tensor) -> bool:
    return KERNELS.get((op, input.device.type), False)


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step. input (B, I), hx = (h (B, H), c (B, H)) -> (h', c')."""
    if not _use_kernel("lstm_cell", input):
        return reference.lstm_cell(input, hx, w_ih, w_hh, b_ih, b_hh)
    h, c = hx
    hy, cy, _ = torch.ops.seq2seq_ext.lstm_cell(input, h, c, w_ih, w_hh, b_ih, b_hh)
    return hy, cy


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step. input (B, I), hx (B, H) -> h'."""
    if not _use_kernel("gru_cell", input):
        return reference.gru_cell(input, hx, w_ih, w_hh, b_ih, b_hh)
    hy, _ = torch.ops.seq2seq_ext.gru_cell(input, hx, w_ih, w_hh, b_ih, b_hh)
    return hy


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One Elman RNN step with tanh. input (B, I), hx (B, H) -> h'."""
    if not _use_kernel("rnn_tanh_cell", input):
        return reference.rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih, b_hh)
    return torch.ops.seq2seq_ext.rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih, b_hh)


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One Elman RNN step with relu. input (B, I), hx (B, H) -> h'."""
    if not _use_kernel("rnn_relu_cell", input):
        return reference.rnn_relu_cell(input, hx, w_ih, w_hh, b_ih, b_hh)
    return torch.ops.seq2seq_ext.rnn_relu_cell(input, hx, w_ih, w_hh, b_ih, b_hh)


# ---------------------------------------------------------------- whole layers
# One direction of one layer over all steps, in the packed layout of
# torch.nn.utils.rnn.PackedSequence: input (N, I), batch_sizes (T,) int64 on the
# CPU, non-increasing (a padded (T, B, I) input is input.reshape(T * B, I) with
# batch_sizes = [B] * T). Return the output (N, H) and the final states.

def lstm_layer(input, batch_sizes, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None):
    """-> (output (N, P), h_n (B, P), c_n (B, H)); P = proj_size with w_hr, else H."""
    if not _use_kernel("lstm_layer", input):
        return reference.lstm_layer(input, batch_sizes, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr)
    output, h_n, c_n, *_ = torch.ops.seq2seq_ext.lstm_layer(
        input, batch_sizes, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr)
    return output, h_n, c_n


def gru_layer(input, batch_sizes, h0, w_ih, w_hh, b_ih=None, b_hh=None):
    """-> (output (N, H), h_n (B, H))."""
    if not _use_kernel("gru_layer", input):
        return reference.gru_layer(input, batch_sizes, h0, w_ih, w_hh, b_ih, b_hh)
    output, h_n, _ = torch.ops.seq2seq_ext.gru_layer(input, batch_sizes, h0, w_ih, w_hh, b_ih, b_hh)
    return output, h_n


def rnn_tanh_layer(input, batch_sizes, h0, w_ih, w_hh, b_ih=None, b_hh=None):
    """-> (output (N, H), h_n (B, H))."""
    if not _use_kernel("rnn_tanh_layer", input):
        return reference.rnn_tanh_layer(input, batch_sizes, h0, w_ih, w_hh, b_ih, b_hh)
    return torch.ops.seq2seq_ext.rnn_tanh_layer(input, batch_sizes, h0, w_ih, w_hh, b_ih, b_hh)


def rnn_relu_layer(input, batch_sizes, h0, w_ih, w_hh, b_ih=None, b_hh=None):
    """-> (output (N, H), h_n (B, H))."""
    if not _use_kernel("rnn_relu_layer", input):
        return reference.rnn_relu_layer(input, batch_sizes, h0, w_ih, w_hh, b_ih, b_hh)
    return torch.ops.seq2seq_ext.rnn_relu_layer(input, batch_sizes, h0, w_ih, w_hh, b_ih, b_hh)
