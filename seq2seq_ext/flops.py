"""Parameters and FLOPs of a Seq2Seq model, in closed form from its config.

The convention is the textbook one for a one-layer Elman RNN encoder and
decoder without attention (embedding m, hidden k, vocabulary V, T steps each
side), which it reproduces exactly (examples/count_flops.py checks it)::

    FLOPs      = T (4mk + 4k^2 + 2k + 2kV)
    parameters = Vm + 2mk + 2k^2 + 2k + kV + V

FLOP convention (forward):

- A matrix-vector product ``W x`` with ``W`` of shape (out, in) costs
  ``2 * in * out``: every product is one multiply and one add into its output's
  accumulator. The accumulator starts at the bias, or at another product's
  result, so ``W_x x + W_h h + b`` costs ``2mk + 2k^2`` and a bias is free.
  torch's recurrent layers have two bias vectors, ``b_ih + b_hh``; their sum is
  a constant, so it counts once (free), like the closed form's single ``b``.
- Every elementwise operation on one element costs 1: add, multiply,
  subtract, divide, exp, and each nonlinearity (tanh, sigmoid, relu). That is
  the closed form's ``+k`` per step: the Elman cell's one tanh per hidden unit.
  The LSTM and GRU have more elementwise work per hidden unit and step (9 and
  8, see ``CELL_ELEMENTWISE``).
- Softmax over n scores costs 3n (exp, sum, divide); the max subtraction that
  keeps exp finite is not counted. The output softmax and the loss are not part
  of the model and are not counted (the closed form stops at the logits).
- Embedding lookups cost 0 (a copy, no arithmetic), forward and backward.
- Every sequence is assumed full length (no padding), and everything scales
  linearly with the batch size.

Backward convention: a matrix product's backward is two products of the same
size (the gradient of the input and of the weight), so it costs 2x its forward;
an elementwise op's backward is counted as 1x its forward (its derivative reuses
the saved output: tanh' = 1 - y^2, sigmoid' = y (1 - y)). ``backward=True``
gives forward + backward, the FLOPs of one training step without the optimizer.
"""

from dataclasses import dataclass

from .cell_types import CELL_TYPES
from .models.config import Seq2SeqConfig

COMPONENTS = (
    "embedding_src",
    "encoder",
    "bridge",
    "embedding_tgt",
    "decoder",
    "attention",
    "combine",
    "output",
)

# Elementwise FLOPs per hidden unit per step, after the gate pre-activations:
#   Elman: h' = tanh(pre) (or relu)                                      -> 1
#   GRU:   sigmoid r, sigmoid z, tanh n                                  -> 3
#          n's pre-activation: r * (W_hn h + b_hn), then + (W_in x + b_in) -> 2
#          h' = (1 - z) * n + z * h, computed as n + z * (h - n)          -> 3   = 8
#   LSTM:  sigmoid i, f, o and tanh g                                    -> 4
#          c' = f * c + i * g                                            -> 3
#          h' = o * tanh(c')                                             -> 2   = 9
CELL_ELEMENTWISE = {"rnn_tanh": 1, "rnn_relu": 1, "gru": 8, "lstm": 9}

SOFTMAX_PER_SCORE = 3  # exp, add to the sum, divide by the sum


@dataclass(frozen=True)
class Flops:
    """FLOPs of one part of the model, kept by kind because the backward
    convention treats the two kinds differently."""

    matmul: int = 0
    elementwise: int = 0

    def __add__(self, other: "Flops") -> "Flops":
        return Flops(self.matmul + other.matmul, self.elementwise + other.elementwise)

    def __mul__(self, times: int) -> "Flops":
        return Flops(self.matmul * times, self.elementwise * times)

    __rmul__ = __mul__

    def forward(self) -> int:
        return self.matmul + self.elementwise

    def forward_backward(self) -> int:
        return self.forward() + 2 * self.matmul + self.elementwise


def linear(in_features: int, out_features: int) -> Flops:
    """y = W x + b: 2 * in * out (the bias starts the accumulator)."""
    return Flops(matmul=2 * in_features * out_features)


# ---------------------------------------------------------------- parameters


def rnn_layer_parameters(cell: str, input_size: int, hidden_size: int) -> int:
    """One direction of one layer, torch.nn layout: weight_ih (G*H, I),
    weight_hh (G*H, H), bias_ih and bias_hh (G*H each). Two bias vectors where
    the closed form has one: G*H more parameters per layer and direction."""
    gates = CELL_TYPES[cell].gates * hidden_size
    return gates * input_size + gates * hidden_size + 2 * gates


def rnn_parameters(
    cell: str, input_size: int, hidden_size: int, num_layers: int, num_directions: int = 1
) -> int:
    """A stacked (bi)directional RNN; layers above the first read D*H features."""
    total = 0
    for layer in range(num_layers):
        layer_input = input_size if layer == 0 else num_directions * hidden_size
        total += num_directions * rnn_layer_parameters(cell, layer_input, hidden_size)
    return total


def config_parameters(config: Seq2SeqConfig) -> dict:
    """Parameters per component of the model built from ``config``."""
    E, H, L, D = config.embedding_size, config.hidden_size, config.num_layers, config.num_directions
    K, A = config.encoder_output_size, config.attn_size
    bridge = 0
    if D == 2:  # Linear(2H, H) for h, and one for c with the LSTM; shared by the layers
        bridges = 2 if config.cell == "lstm" else 1
        bridge = bridges * (2 * H * H + H)
    attention = {
        "bahdanau": H * A + K * A + A,  # W_q, W_k, v
        "luong-general": H * K,  # W
        "luong-dot": 0,
        "none": 0,
    }[config.attention]
    combine = 0 if config.attention == "none" else (H + K) * H + H
    counts = {
        "embedding_src": config.src_vocab_size * E,
        "encoder": rnn_parameters(config.cell, E, H, L, D),
        "bridge": bridge,
        "embedding_tgt": config.tgt_vocab_size * E,
        "decoder": rnn_parameters(config.cell, config.decoder_input_size, H, L),
        "attention": attention,
        "combine": combine,
        "output": H * config.tgt_vocab_size + config.tgt_vocab_size,
    }
    counts["total"] = sum(counts.values())
    return counts


def count_parameters(config_or_model) -> dict:
    """Parameters per component (``COMPONENTS`` and ``total``), from a
    ``Seq2SeqConfig`` or from a model's ``.config``, in closed form. For a
    model, ``model_total`` is also given: ``sum(p.numel())`` over its
    parameters; a module without a config gets only ``model_total``."""
    if isinstance(config_or_model, Seq2SeqConfig):
        return config_parameters(config_or_model)
    config = getattr(config_or_model, "config", None)
    counts = config_parameters(config) if isinstance(config, Seq2SeqConfig) else {}
    counts["model_total"] = sum(p.numel() for p in config_or_model.parameters())
    return counts


# --------------------------------------------------------------------- FLOPs


def rnn_step_flops(cell: str, input_size: int, hidden_size: int) -> Flops:
    """One step of one cell: the gate pre-activations W_ih x + W_hh h + b
    (G*H outputs from I + H inputs), then the cell's elementwise work."""
    gates = CELL_TYPES[cell].gates * hidden_size
    return Flops(
        matmul=2 * gates * (input_size + hidden_size),
        elementwise=CELL_ELEMENTWISE[cell] * hidden_size,
    )


def rnn_step_flops_all_layers(
    cell: str, input_size: int, hidden_size: int, num_layers: int, num_directions: int = 1
) -> Flops:
    """One time step through every layer and direction."""
    total = Flops()
    for layer in range(num_layers):
        layer_input = input_size if layer == 0 else num_directions * hidden_size
        total += num_directions * rnn_step_flops(cell, layer_input, hidden_size)
    return total


def attention_flops(config: Seq2SeqConfig, src_len: int, tgt_len: int) -> Flops:
    """Attention over S = src_len encoder outputs (K features), at each of the
    tgt_len decoder steps. Every kind ends with a softmax over the S scores and
    a context vector that is a weighted sum of S values of size K (2SK)."""
    H, K, A, S = config.hidden_size, config.encoder_output_size, config.attn_size, src_len
    softmax_and_context = Flops(matmul=2 * S * K, elementwise=SOFTMAX_PER_SCORE * S)
    if config.attention == "bahdanau":
        keys_once = S * linear(K, A)  # W_k k_s: once per source, reused at every step
        # per step: q = W_q h (2HA); per position v . tanh(q + k_s): A adds, A tanh,
        # and a dot product of size A (2A)
        step = linear(H, A) + Flops(matmul=2 * S * A, elementwise=2 * S * A)
        return keys_once + tgt_len * (step + softmax_and_context)
    if config.attention == "luong-general":
        step = linear(K, H) + Flops(matmul=2 * S * K)  # h W once (2HK), then S dots of size K
        return tgt_len * (step + softmax_and_context)
    if config.attention == "luong-dot":
        step = Flops(matmul=2 * S * H)  # S dots of size H
        return tgt_len * (step + softmax_and_context)
    return Flops()


def component_flops(config: Seq2SeqConfig, src_len: int, tgt_len: int) -> dict:
    """Forward FLOPs per component for one example, as ``Flops``."""
    E, H, L, D = config.embedding_size, config.hidden_size, config.num_layers, config.num_directions
    K, attends = config.encoder_output_size, config.attention != "none"
    bridge = Flops()
    if D == 2:  # once per layer: h0 = tanh(W [h_fwd; h_bwd] + b), and c0 = W' [c_fwd; c_bwd] + b'
        bridge = L * (linear(2 * H, H) + Flops(elementwise=H))
        if config.cell == "lstm":
            bridge += L * linear(2 * H, H)
    combine = tgt_len * (linear(H + K, H) + Flops(elementwise=H)) if attends else Flops()
    return {
        "embedding_src": Flops(),
        "encoder": src_len * rnn_step_flops_all_layers(config.cell, E, H, L, D),
        "bridge": bridge,
        "embedding_tgt": Flops(),
        "decoder": tgt_len
        * rnn_step_flops_all_layers(config.cell, config.decoder_input_size, H, L),
        "attention": attention_flops(config, src_len, tgt_len),
        "combine": combine,
        "output": tgt_len * linear(H, config.tgt_vocab_size),
    }


def count_flops(
    config_or_model, src_len: int, tgt_len: int, batch: int = 1, backward: bool = False
) -> dict:
    """FLOPs per component (``COMPONENTS`` and ``total``) of running a batch of
    ``batch`` sources of ``src_len`` tokens through the encoder and the decoder
    for ``tgt_len`` steps (teacher forcing): forward only, or forward + backward
    with ``backward=True``. The conventions are in this module's docstring.
    Takes a ``Seq2SeqConfig`` or a model with a ``.config``."""
    config = config_or_model
    if not isinstance(config, Seq2SeqConfig):
        config = getattr(config_or_model, "config", None)
        if not isinstance(config, Seq2SeqConfig):
            raise TypeError(
                "count_flops needs a Seq2SeqConfig or a model with a .config, got "
                f"{type(config_or_model).__name__}"
            )
    for name, value in (("src_len", src_len), ("tgt_len", tgt_len), ("batch", batch)):
        if value < 0:
            raise ValueError(f"count_flops: {name} must be >= 0, got {value}")
    counts = {}
    for name, flops in component_flops(config, src_len, tgt_len).items():
        counts[name] = batch * (flops.forward_backward() if backward else flops.forward())
    counts["total"] = sum(counts.values())
    return counts
