"""Drop-in replacements for torch.nn.LSTMCell, GRUCell and RNNCell.

They subclass torch's cells, so constructor, parameters, initialisation,
``state_dict``, repr and ``isinstance`` are torch's own; their forward is torch's
code calling the fused cell ops of ``seq2seq_ext.functional`` instead of
``torch._VF`` (see fused_vf.py), so inputs, outputs and errors are torch's too.
"""

from torch import nn

from .fused_vf import torch_forward_on_fused_ops


class FusedLSTMCell(nn.LSTMCell):
    """torch.nn.LSTMCell on the fused ``lstm_cell`` op. Same arguments, weights
    (``weight_ih (4H, I)``, ``weight_hh (4H, H)``, ``bias_ih``, ``bias_hh``) and results."""

    forward = torch_forward_on_fused_ops(nn.LSTMCell)


class FusedGRUCell(nn.GRUCell):
    """torch.nn.GRUCell on the fused ``gru_cell`` op. Same arguments, weights
    (``weight_ih (3H, I)``, ``weight_hh (3H, H)``, ``bias_ih``, ``bias_hh``) and results."""

    forward = torch_forward_on_fused_ops(nn.GRUCell)


class FusedRNNCell(nn.RNNCell):
    """torch.nn.RNNCell (``nonlinearity`` ``"tanh"`` or ``"relu"``) on the fused
    ``rnn_tanh_cell`` / ``rnn_relu_cell`` ops. Same arguments, weights and results."""

    forward = torch_forward_on_fused_ops(nn.RNNCell)
