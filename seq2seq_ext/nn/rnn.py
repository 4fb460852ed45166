"""FusedLSTM, FusedGRU and FusedRNN: torch.nn.LSTM, GRU and RNN whose time loop
runs in C++ (the layer ops of functional.py).

They subclass torch.nn's modules, so ``isinstance(FusedLSTM(...), nn.LSTM)``
holds, and everything torch.nn's module is stays: constructor, attributes,
parameters and their initialisation, ``state_dict``, ``flatten_parameters``,
repr, copying and pickling. Their forward is torch.nn's own code calling this
package's ops instead of ``torch._VF`` (see fused_vf.py), so the inputs taken
(batched, unbatched, batch_first, PackedSequence sorted or not), the outputs
and every error are torch's.

Dynamo declines to trace modules that are instances of torch.nn's RNNs unless
``torch._dynamo.config.allow_rnn`` is set: ``seq2seq_ext.compile`` sets it for
the model it compiles, and only there.
"""

from torch import nn

from .fused_vf import torch_forward_on_fused_ops


class _Twins:
    """from_torch / to_torch: a copy of a module as the other kind."""

    TORCH_CLASS: type

    @classmethod
    def from_torch(cls, module):
        """The fused twin of a torch.nn module: same options, a copy of its
        weights, on its device and dtype, in its train / eval mode."""
        if type(module) is not cls.TORCH_CLASS:
            raise TypeError(
                f"{cls.__name__}.from_torch expects a {cls.TORCH_CLASS.__name__}, "
                f"got {type(module).__name__}"
            )
        return _copy_as(module, cls)

    def to_torch(self):
        """The torch.nn twin of this module (same options, a copy of its weights)."""
        return _copy_as(self, self.TORCH_CLASS)


def _copy_as(module, target_class):
    """A `target_class` module with the options and a copy of the weights of `module`."""
    options = {
        name: getattr(module, name)
        for name in ("num_layers", "bias", "batch_first", "dropout", "bidirectional")
    }
    if module.proj_size:
        options["proj_size"] = module.proj_size
    if hasattr(module, "nonlinearity"):  # the Elman RNNs
        options["nonlinearity"] = module.nonlinearity
    weight = module.weight_ih_l0
    twin = target_class(
        module.input_size, module.hidden_size, **options, device=weight.device, dtype=weight.dtype
    )
    twin.load_state_dict(module.state_dict())
    return twin.train(module.training)


class FusedLSTM(_Twins, nn.LSTM):
    """torch.nn.LSTM on the fused lstm_layer op: same arguments (including
    proj_size), weights, state_dict, results and errors."""

    TORCH_CLASS = nn.LSTM
    forward = torch_forward_on_fused_ops(nn.LSTM)


class FusedGRU(_Twins, nn.GRU):
    """torch.nn.GRU on the fused gru_layer op: same arguments, weights,
    state_dict, results and errors."""

    TORCH_CLASS = nn.GRU
    forward = torch_forward_on_fused_ops(nn.GRU)


class FusedRNN(_Twins, nn.RNN):
    """torch.nn.RNN (nonlinearity "tanh" or "relu") on the fused rnn_*_layer ops:
    same arguments, weights, state_dict, results and errors."""

    TORCH_CLASS = nn.RNN
    forward = torch_forward_on_fused_ops(nn.RNN)
