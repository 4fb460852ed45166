"""The encoder: embedding, dropout, a (bidirectional) recurrent stack over the
packed source, and a bridge from its final states to the decoder's."""

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..functional import check_lengths
from ..nn.fused_vf import run_with_lengths
from ..onnx import exporting_to_onnx
from .config import Seq2SeqConfig
from .layers import make_rnn


class Encoder(nn.Module):
    """src (B, S) int64 token ids, src_lengths (B,) -> outputs (B, S, D*H) (zeros
    past each length) and the decoder's initial state: h (L, B, H), or (h, c) for
    the LSTM.

    A bidirectional encoder's final states are the forward and backward ones of
    each layer side by side (2H); ``bridge_h`` maps them to H with a tanh, as
    the state of an RNN is (and ``bridge_c``, linearly, the LSTM's cell state)."""

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(
            config.src_vocab_size, config.embedding_size, padding_idx=config.pad_index
        )
        self.dropout = nn.Dropout(config.dropout)
        self.rnn = make_rnn(config, config.embedding_size, config.bidirectional)
        if config.bidirectional:
            self.bridge_h = nn.Linear(2 * config.hidden_size, config.hidden_size)
            if config.cell == "lstm":
                self.bridge_c = nn.Linear(2 * config.hidden_size, config.hidden_size)

    def forward(self, src: Tensor, src_lengths: Tensor):
        if src.dim() != 2 or src.dtype != torch.int64:
            raise ValueError(
                f"expected src of dtype int64 and shape (batch, src_len), got "
                f"{src.dtype} of shape {list(src.shape)}"
            )
        batch, src_len = src.shape
        # A sentence has at least its EOS token; an empty one cannot be encoded.
        check_lengths(
            src_lengths,
            src_len,
            batch,
            min_length=1,
            name="src_lengths",
            hint=" (a sentence has at least its EOS token)",
        )
        embedded = self.dropout(self.embedding(src))
        if batch == 0:  # nothing to pack: empty outputs and states
            return self._empty(embedded)
        outputs, state = self._run_rnn(embedded, src_lengths)
        if self.config.cell == "lstm":
            h, c = state
            return outputs, (self._bridge(h, "bridge_h", torch.tanh), self._bridge(c, "bridge_c"))
        return outputs, self._bridge(state, "bridge_h", torch.tanh)

    def _run_rnn(self, embedded: Tensor, src_lengths: Tensor):
        """The RNN over the packed source: outputs (B, S, D*H), zeros past each
        length, and the final states. Under torch.export the fused layers pack
        with static shapes instead (pack_padded_sequence's rows depend on the
        lengths' values, which export cannot trace): the same numbers; under
        ONNX export, either backend's layers take the lengths as ONNX's
        sequence_lens (seq2seq_ext.onnx)."""
        exporting = torch.compiler.is_exporting() and self.config.backend == "fused"
        if exporting or exporting_to_onnx():
            return run_with_lengths(self.rnn, embedded, src_lengths)
        packed = pack_padded_sequence(
            embedded, src_lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        packed_outputs, state = self.rnn(packed)
        outputs, _ = pad_packed_sequence(
            packed_outputs, batch_first=True, total_length=embedded.shape[1]
        )
        return outputs, state

    def _empty(self, embedded: Tensor):
        config = self.config
        outputs = embedded.new_zeros(0, embedded.shape[1], config.encoder_output_size)
        state = embedded.new_zeros(config.num_layers, 0, config.hidden_size)
        return outputs, ((state, state.clone()) if config.cell == "lstm" else state)

    def _bridge(self, state: Tensor, bridge: str, activation=None) -> Tensor:
        """(L*D, B, H) final states -> (L, B, H) decoder states."""
        if not self.config.bidirectional:
            return state
        layers, batch, hidden = self.config.num_layers, state.shape[1], self.config.hidden_size
        both = (
            state.view(layers, 2, batch, hidden)
            .permute(0, 2, 1, 3)
            .reshape(layers, batch, 2 * hidden)
        )
        bridged = getattr(self, bridge)(both)
        return activation(bridged) if activation is not None else bridged
