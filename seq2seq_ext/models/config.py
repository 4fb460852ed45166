"""The hyper-parameters of a Seq2Seq model, in one place: the model is built
from a config, a checkpoint stores it, and ``seq2seq_ext.flops`` counts
parameters and FLOPs from it without building the model."""

from dataclasses import asdict, dataclass, fields
from typing import Optional

from ..cell_types import CELL_TYPES
from ..nn.backends import BACKENDS

CELLS = tuple(CELL_TYPES)
ATTENTIONS = ("bahdanau", "luong-dot", "luong-general", "none")


@dataclass
class Seq2SeqConfig:
    """An embedding + recurrent encoder, and a recurrent decoder with optional
    attention over the encoder outputs.

    - ``cell``: the recurrent cell of both encoder and decoder.
    - ``bidirectional``: the encoder's; its outputs then have ``2 * hidden_size``
      features, and its final states are bridged to the decoder's size by a
      linear layer (with ``tanh`` for h).
    - ``attention``: ``bahdanau`` (additive, ``attn_size`` units), ``luong-dot``,
      ``luong-general``, or ``none``. With attention, the decoder's output at
      step t is ``tanh(W_c [h_t; context_t])`` (Luong et al., 2015), else ``h_t``.
    - ``input_feeding``: feed that output back as part of the next step's input
      (needs attention; makes the decoder run step by step).
    - ``backend``: ``fused`` (this package's kernels) or ``torch`` (``torch.nn``
      layers and the pure-PyTorch attention; see ``seq2seq_ext.nn.backends``),
      with identical parameters, so a state_dict moves between the two.
    """

    src_vocab_size: int
    tgt_vocab_size: int
    embedding_size: int = 128
    hidden_size: int = 256
    num_layers: int = 1
    cell: str = "gru"
    bidirectional: bool = False
    dropout: float = 0.0
    attention: str = "bahdanau"
    attn_size: Optional[int] = None  # bahdanau only; default hidden_size
    input_feeding: bool = False
    pad_index: int = 0
    sos_index: int = 1
    eos_index: int = 2
    backend: str = "fused"

    def __post_init__(self) -> None:
        for name, allowed in (("cell", CELLS), ("attention", ATTENTIONS), ("backend", BACKENDS)):
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"Seq2SeqConfig: {name} must be one of {allowed}, got {getattr(self, name)!r}"
                )
        for name in (
            "src_vocab_size",
            "tgt_vocab_size",
            "embedding_size",
            "hidden_size",
            "num_layers",
        ):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"Seq2SeqConfig: {name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"Seq2SeqConfig: dropout must be in [0, 1), got {self.dropout}")
        if self.input_feeding and self.attention == "none":
            raise ValueError("Seq2SeqConfig: input_feeding needs attention")
        if self.attention == "luong-dot" and self.encoder_output_size != self.hidden_size:
            raise ValueError(
                "Seq2SeqConfig: luong-dot attention needs the encoder's output size "
                f"({self.encoder_output_size}) to equal hidden_size "
                f"({self.hidden_size}); use luong-general or bahdanau with a "
                "bidirectional encoder"
            )
        if self.attn_size is None:
            self.attn_size = self.hidden_size

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def encoder_output_size(self) -> int:
        return self.num_directions * self.hidden_size

    @property
    def decoder_input_size(self) -> int:
        """The decoder RNN's input: the target embedding, plus the previous
        attentional output with input feeding."""
        return self.embedding_size + (self.hidden_size if self.input_feeding else 0)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "Seq2SeqConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"Seq2SeqConfig: unknown fields {sorted(unknown)}")
        return cls(**values)
