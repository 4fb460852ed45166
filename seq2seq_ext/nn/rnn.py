"""FusedLSTM, FusedGRU and FusedRNN: drop-in replacements for torch.nn.LSTM,
GRU and RNN whose time loop runs in C++ (the layer ops of functional.py).

Same constructor, attributes, parameter names, shapes, initialisation and
state_dict keys as torch's, the same inputs (batched, unbatched, batch_first,
PackedSequence sorted or not) and the same outputs. They subclass nn.Module, not
nn.RNNBase, so that torch.compile can trace them (Dynamo refuses torch's RNNs).

Every layer and direction runs on the packed layout: a padded (T, B, I) input is
viewed as T steps of B rows. The reverse direction runs the same op on the
sequences reversed (each within its own length) and reverses its output back.
"""

import math
import numbers
import warnings

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from .. import functional
from ..cell_types import GRU, LSTM, RNN_RELU, RNN_TANH, CellType
from .packed import reverser

# One direction of one layer, by cell name (the LSTM's also takes c0 and w_hr).
_LAYER_OPS = {
    "lstm": functional.lstm_layer,
    "gru": functional.gru_layer,
    "rnn_tanh": functional.rnn_tanh_layer,
    "rnn_relu": functional.rnn_relu_layer,
}


class _FusedRNNBase(nn.Module):
    """torch.nn.RNNBase's parameters, checks and forward, on the layer ops."""

    def __init__(
        self,
        cell_type: CellType,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self._cell_type = cell_type
        self.mode = cell_type.torch_mode  # torch.nn.RNNBase's attribute
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        _check_constructor_args(
            input_size, hidden_size, num_layers, bias, batch_first, dropout, proj_size
        )
        gate_size = cell_type.gates * hidden_size
        real_hidden_size = proj_size if proj_size > 0 else hidden_size
        num_directions = 2 if bidirectional else 1
        factory = {"device": device, "dtype": dtype}
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            layer_input_size = input_size if layer == 0 else real_hidden_size * num_directions
            for direction in range(num_directions):
                suffix = "_reverse" if direction == 1 else ""
                shapes = {
                    "weight_ih": (gate_size, layer_input_size),
                    "weight_hh": (gate_size, real_hidden_size),
                }
                if bias:
                    shapes.update(bias_ih=(gate_size,), bias_hh=(gate_size,))
                if proj_size > 0:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                names = [f"{kind}_l{layer}{suffix}" for kind in shapes]
                for name, shape in zip(names, shapes.values()):
                    setattr(self, name, nn.Parameter(torch.empty(shape, **factory)))
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @classmethod
    def from_torch(cls, module: nn.RNNBase) -> "_FusedRNNBase":
        """The fused twin of a torch.nn.LSTM / GRU / RNN: same options, a copy of
        its weights, on its device and dtype, in its train / eval mode."""
        if not isinstance(module, cls.TORCH_CLASS):
            raise TypeError(
                f"{cls.__name__}.from_torch expects a {cls.TORCH_CLASS.__name__}, "
                f"got {type(module).__name__}"
            )
        return _twin(module, cls)

    def to_torch(self) -> nn.RNNBase:
        """The torch.nn twin of this module (same options, a copy of its weights)."""
        return _twin(self, self.TORCH_CLASS)

    def reset_parameters(self) -> None:
        """torch's init: every weight and bias U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def flatten_parameters(self) -> None:
        """Does nothing: there is no cuDNN weight buffer to compact. Kept so that
        code written for torch.nn.LSTM runs unchanged."""

    @property
    def all_weights(self) -> list:
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    @property
    def _flat_weights(self) -> list:
        """torch.nn.RNNBase's private list of weights, which code written for
        torch's RNNs (weight-drop wrappers, for one) reads."""
        return [getattr(self, name) for name in self._flat_weights_names]

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    # ---------------------------------------------------------------- forward

    def forward(self, input, hx=None):
        is_lstm = self._cell_type == LSTM
        name = self.TORCH_CLASS.__name__  # as torch's messages name the module
        packed = isinstance(input, PackedSequence)
        if packed:
            data, batch_sizes, sorted_indices, unsorted_indices = input
            batch = int(batch_sizes[0])
            is_batched = True
        else:
            if input.dim() not in (2, 3):
                tensor = " tensor" if name == "RNN" else ""
                raise ValueError(
                    f"{name}: Expected input to be 2D or 3D, got {input.dim()}D{tensor} instead"
                )
            is_batched = input.dim() == 3
            if not is_batched:
                input = input.unsqueeze(0 if self.batch_first else 1)
            sorted_indices = unsorted_indices = None
            batch = input.size(0) if self.batch_first else input.size(1)
        states = self._initial_states(hx, is_batched, packed, input if not packed else data, batch)
        self._check_forward_args(data if packed else input, states, packed, batch)
        if sorted_indices is not None:
            states = [s.index_select(1, sorted_indices) for s in states]
        if not packed:
            time_major = input.transpose(0, 1) if self.batch_first else input
            steps = time_major.size(0)
            data = time_major.reshape(steps * batch, self.input_size)
            batch_sizes = torch.full((steps,), batch, dtype=torch.long)
        output, final = self._run_layers(data, batch_sizes, states, padded=not packed)
        if unsorted_indices is not None:
            final = [s.index_select(1, unsorted_indices) for s in final]
        hidden = tuple(final) if is_lstm else final[0]
        if packed:
            return PackedSequence(output, batch_sizes, sorted_indices, unsorted_indices), hidden
        output = output.view(steps, batch, output.size(-1))
        if self.batch_first:
            output = output.transpose(0, 1)
        if not is_batched:
            output = output.squeeze(0 if self.batch_first else 1)
            hidden = tuple(s.squeeze(1) for s in hidden) if is_lstm else hidden.squeeze(1)
        return output, hidden

    def _state_sizes(self):
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        return [real_hidden, self.hidden_size] if self._cell_type == LSTM else [self.hidden_size]

    def _initial_states(self, hx, is_batched, packed, input, batch):
        """hx as a list of (layers * directions, batch, size) tensors; zeros if None."""
        layers = self.num_layers * (2 if self.bidirectional else 1)
        if hx is None:
            return [
                torch.zeros(layers, batch, size, dtype=input.dtype, device=input.device)
                for size in self._state_sizes()
            ]
        states = list(hx) if self._cell_type == LSTM else [hx]
        if not packed:
            wanted = 3 if is_batched else 2
            if any(s.dim() != wanted for s in states):
                kind = "batched 3-D" if is_batched else "unbatched 2-D"
                if self._cell_type == LSTM:
                    dims = ", ".join(f"{s.dim()}-D" for s in states)
                    raise RuntimeError(
                        f"For {kind} input, hx and cx should also be {wanted}-D "
                        f"but got ({dims}) tensors"
                    )
                raise RuntimeError(
                    f"For {kind} input, hx should also be {wanted}-D but got "
                    f"{states[0].dim()}-D tensor"
                )
            if not is_batched:
                states = [s.unsqueeze(1) for s in states]
        return states

    def _check_forward_args(self, input, states, packed, batch):
        weight = self.weight_ih_l0
        if input.dtype != weight.dtype and not torch.is_autocast_enabled(input.device.type):
            raise ValueError(
                f"RNN input dtype ({input.dtype}) does not match weight dtype ({weight.dtype}). "
                f"Convert input: input.to({weight.dtype}), or convert model: model.to({input.dtype})"
            )
        expected_dim = 2 if packed else 3
        if input.dim() != expected_dim:
            raise RuntimeError(f"input must have {expected_dim} dimensions, got {input.dim()}")
        if input.size(-1) != self.input_size:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected "
                f"{self.input_size}, got {input.size(-1)}"
            )
        layers = self.num_layers * (2 if self.bidirectional else 1)
        for index, (state, size) in enumerate(zip(states, self._state_sizes())):
            expected = (layers, batch, size)
            if state.size() != expected:
                which = f"hidden[{index}]" if self._cell_type == LSTM else "hidden"
                raise RuntimeError(f"Expected {which} size {expected}, got {list(state.size())}")

    def _run_layers(self, data, batch_sizes, states, padded):
        """All layers and directions over packed data; returns (output, final states),
        each state (layers * directions, B, size)."""
        directions = 2 if self.bidirectional else 1
        reverse = reverser(batch_sizes, padded, data.device) if self.bidirectional else None
        finals = [[] for _ in states]
        all_weights = self.all_weights
        layer_input = data
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                weights = all_weights[index]
                x = reverse(layer_input) if direction == 1 else layer_input
                out, *final = self._run_layer(x, batch_sizes, [s[index] for s in states], weights)
                outputs.append(reverse(out) if direction == 1 else out)
                for collected, state in zip(finals, final):
                    collected.append(state)
            layer_input = torch.cat(outputs, 1) if directions == 2 else outputs[0]
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        return layer_input, [torch.stack(collected) for collected in finals]

    def _run_layer(self, x, batch_sizes, states, weights):
        w_ih, w_hh = weights[0], weights[1]
        b_ih, b_hh = (weights[2], weights[3]) if self.bias else (None, None)
        layer_op = _LAYER_OPS[self._cell_type.name]
        if self._cell_type == LSTM:
            w_hr = weights[-1] if self.proj_size > 0 else None
            return layer_op(x, batch_sizes, *states, w_ih, w_hh, b_ih, b_hh, w_hr)
        return layer_op(x, batch_sizes, *states, w_ih, w_hh, b_ih, b_hh)


def _twin(module, target_class):
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


def _check_constructor_args(
    input_size, hidden_size, num_layers, bias, batch_first, dropout, proj_size
):
    """torch.nn.RNNBase's argument checks, with its messages."""
    if (
        not isinstance(dropout, numbers.Number)
        or not 0 <= dropout <= 1
        or isinstance(dropout, bool)
    ):
        raise ValueError(
            "dropout should be a number in range [0, 1] representing the "
            "probability of an element being zeroed"
        )
    if dropout > 0 and num_layers == 1:
        warnings.warn(
            "dropout option adds dropout after all but last recurrent layer, so non-zero "
            f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
            f"num_layers={num_layers}",
            stacklevel=4,
        )
    for name, value, kind in (
        ("bias", bias, bool),
        ("batch_first", batch_first, bool),
        ("input_size", input_size, int),
        ("hidden_size", hidden_size, int),
    ):
        if not isinstance(value, kind):
            raise TypeError(
                f"{name} should be of type {kind.__name__}, got: {type(value).__name__}"
            )
    if input_size <= 0:
        raise ValueError("input_size must be greater than zero")
    if hidden_size <= 0:
        raise ValueError("hidden_size must be greater than zero")
    if num_layers <= 0:
        raise ValueError("num_layers must be greater than zero")
    if proj_size < 0:
        raise ValueError("proj_size should be a positive integer or zero to disable projections")
    if proj_size >= hidden_size:
        raise ValueError("proj_size has to be smaller than hidden_size")


class FusedLSTM(_FusedRNNBase):
    """torch.nn.LSTM on the fused lstm_layer op: same arguments (including
    proj_size), weights, state_dict and results."""

    TORCH_CLASS = nn.LSTM

    def __init__(self, *args, **kwargs):
        super().__init__(LSTM, *args, **kwargs)


class FusedGRU(_FusedRNNBase):
    """torch.nn.GRU on the fused gru_layer op: same arguments, weights,
    state_dict and results."""

    TORCH_CLASS = nn.GRU

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__(GRU, *args, **kwargs)


class FusedRNN(_FusedRNNBase):
    """torch.nn.RNN (nonlinearity "tanh" or "relu") on the fused rnn_*_layer
    ops: same arguments, weights, state_dict and results."""

    TORCH_CLASS = nn.RNN

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if (
            len(args) > 3
        ):  # torch's positional order: input_size, hidden_size, num_layers, nonlinearity
            nonlinearity, args = args[3], args[:3] + args[4:]
        else:
            nonlinearity = kwargs.pop("nonlinearity", "tanh")
        cell_types = {cell.nonlinearity: cell for cell in (RNN_TANH, RNN_RELU)}
        if nonlinearity not in cell_types:
            raise ValueError(
                f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        super().__init__(cell_types[nonlinearity], *args, **kwargs)
        self.nonlinearity = nonlinearity
