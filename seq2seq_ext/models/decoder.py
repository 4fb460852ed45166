"""The decoder: embedding, a recurrent stack, attention over the encoder
outputs, and the output layer. It runs either a whole teacher-forced target at
once (one layer op over all steps, then attention for all steps in one call) or
one step at a time (input feeding, scheduled sampling, decoding)."""

from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..functional import output_cross_entropy
from .config import Seq2SeqConfig
from .layers import fused_loss_serves, make_attention, make_rnn


class Memory(NamedTuple):
    """What the decoder attends to, computed once per source batch."""

    values: Tensor  # (B, S, K) encoder outputs
    mask: Tensor  # (B, S) bool, True = a real source token
    keys_proj: Optional[Tensor]  # (B, S, A) W_k values, Bahdanau only

    def index_select(self, index: Tensor) -> "Memory":
        """The memory of the batch rows `index` (beam search's reordering)."""
        return Memory(*(t.index_select(0, index) if t is not None else None for t in self))


def decoding_op_arguments(config: Seq2SeqConfig, weights: list, memory: Memory, state) -> tuple:
    """The decoding ops' leading arguments: `weights` in csrc/decoding/decoder_args.h's
    order, the config's cell, attention and input feeding, the state as a list,
    and the memory (values, mask, keys_proj)."""
    states = list(state) if isinstance(state, tuple) else [state]
    return (weights, config.cell, config.attention, config.input_feeding, states, *memory)


class AttentionDecoder(nn.Module):
    """Step t: x_t = embed(y_{t-1}) (and, with input feeding, the previous output
    o_{t-1}); h_t = RNN(x_t, h_{t-1}); with attention, context_t = attend(h_t,
    encoder outputs) and o_t = tanh(W_c [h_t; context_t]), else o_t = h_t;
    logits_t = W_out o_t. (Luong et al.'s order, with any of the scores: the query
    is the current state, so a teacher-forced pass needs no loop over steps.)"""

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(
            config.tgt_vocab_size, config.embedding_size, padding_idx=config.pad_index
        )
        self.dropout = nn.Dropout(config.dropout)
        self.rnn = make_rnn(config, config.decoder_input_size, bidirectional=False)
        self.attention = make_attention(config)
        if self.attention is not None:
            self.combine = nn.Linear(
                config.hidden_size + config.encoder_output_size, config.hidden_size
            )
        self.output = nn.Linear(config.hidden_size, config.tgt_vocab_size)

    def memory(self, encoder_outputs: Tensor, mask: Tensor) -> Memory:
        """Projects the keys once for the whole decode (Bahdanau)."""
        keys_proj = (
            self.attention.project_keys(encoder_outputs)
            if self.config.attention == "bahdanau"
            else None
        )
        return Memory(encoder_outputs, mask, keys_proj)

    def forward(self, tgt_in: Tensor, state, memory: Memory, project: bool = True):
        """Teacher forcing without input feeding: tgt_in (B, T) -> logits (B, T, V)
        (project=False: the output layer's input, o_t dropped out (B, T, H)),
        the final state, attention weights (B, T, S) (None without attention)."""
        if self.config.input_feeding:
            raise RuntimeError("a decoder with input feeding runs step by step: use step()")
        hidden, state = self.rnn(self.dropout(self.embedding(tgt_in)), state)
        outputs, weights = self._attend(hidden, memory)
        return self._project(self.dropout(outputs), project), state, weights

    def step(
        self,
        token: Tensor,
        state,
        memory: Memory,
        feed: Optional[Tensor] = None,
        project: bool = True,
    ):
        """One step: token (B,) -> logits (B, V) (project=False: the output
        layer's input, o_t dropped out (B, H)), the new state, weights (B, S)
        (None without attention) and the output o_t to feed to the next step
        (used with input feeding; start with None, which means zeros)."""
        inputs = self.dropout(self.embedding(token))
        if self.config.input_feeding:
            if feed is None:
                feed = inputs.new_zeros(token.shape[0], self.config.hidden_size)
            inputs = torch.cat([inputs, feed], dim=1)
        hidden, state = self.rnn(inputs.unsqueeze(1), state)
        outputs, weights = self._attend(hidden, memory)
        outputs, weights = outputs.squeeze(1), (weights.squeeze(1) if weights is not None else None)
        return self._project(self.dropout(outputs), project), state, weights, outputs

    def _project(self, outputs: Tensor, project: bool) -> Tensor:
        return self.output(outputs) if project else outputs

    def output_loss(self, outputs: Tensor, targets: Tensor) -> Tensor:
        """The summed cross-entropy of the output layer's logits of `outputs`
        (what forward or step return with project=False) against `targets`
        (their shape less the last dimension), pad_index left out. On the
        fused backend one op (functional.output_cross_entropy: the output
        layer, log-softmax and cross-entropy with their gradients, padding
        rows skipped, the logits never held whole); else the output layer,
        then torch's cross-entropy (in float32 for half-type logits)."""
        pad = self.config.pad_index
        if fused_loss_serves(self.config, outputs.device):
            bias = self.output.bias
            return output_cross_entropy(outputs, self.output.weight, bias, targets, pad)
        logits = self.output(outputs)
        if logits.dtype in (torch.float16, torch.bfloat16):
            logits = logits.float()
        return F.cross_entropy(
            logits.flatten(0, -2), targets.flatten(), ignore_index=pad, reduction="sum"
        )

    def decoding_weights(self) -> list:
        """This decoder's weights in the decoding ops' order (csrc/decoding/decoder_args.h),
        each as (name, tensor, whether the ops also take it in reduced precision:
        the matrices multiplied every step)."""
        config = self.config
        weights = [("embedding.weight", self.embedding.weight, False)]
        for layer in range(config.num_layers):
            for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                name = f"{kind}_l{layer}"
                weights.append((f"rnn.{name}", getattr(self.rnn, name), kind.startswith("weight")))
        if config.attention == "bahdanau":
            weights += [
                ("attention.W_q.weight", self.attention.W_q.weight, True),
                ("attention.v", self.attention.scoring_vector(), False),
            ]
        elif config.attention == "luong-general":
            weights.append(("attention.W", self.attention.W, False))
        if self.attention is not None:
            weights += [
                ("combine.weight", self.combine.weight, True),
                ("combine.bias", self.combine.bias, False),
            ]
        return weights + [
            ("output.weight", self.output.weight, True),
            ("output.bias", self.output.bias, False),
        ]

    def decoding_op_arguments(self, memory: Memory, state) -> tuple:
        """The decoding ops' (``seq2seq_ext::greedy_decode`` and ``beam_search``)
        leading arguments: this decoder's weights (decoding_weights), its cell,
        attention and input feeding, the state as a list, and the memory
        (values, mask, keys_proj)."""
        weights = [weight for _, weight, _ in self.decoding_weights()]
        return decoding_op_arguments(self.config, weights, memory, state)

    def dropout_masks(self, steps: int, batch: int, like: Tensor) -> list:
        """The training pass op's dropout (``seq2seq_ext::decoder_stepwise_pass``,
        csrc/decoding/decoder_args.h): [] when none is active, else keep-masks scaled by
        1 / (1 - p), drawn as nn.Dropout draws them, for what this decoder drops
        at each step: the embedding (steps, batch, E), each layer's h as the
        next layer's input (layers - 1, steps, batch, H) and the output o_t
        before the output layer (steps, batch, H)."""
        config = self.config
        p = config.dropout
        if not (self.training and p > 0):
            return []

        def mask(*shape):
            return like.new_empty(shape).bernoulli_(1 - p).div_(1 - p)

        H = config.hidden_size
        return [
            mask(steps, batch, config.embedding_size),
            mask(config.num_layers - 1, steps, batch, H),
            mask(steps, batch, H),
        ]

    def _attend(self, hidden: Tensor, memory: Memory):
        """hidden (B, T, H) -> outputs o (B, T, H), weights (B, T, S) or None."""
        if self.attention is None:
            return hidden, None
        if self.config.attention == "bahdanau":
            context, weights = self.attention(
                hidden, memory.values, mask=memory.mask, keys_proj=memory.keys_proj
            )
        else:
            context, weights = self.attention(hidden, memory.values, mask=memory.mask)
        outputs = torch.tanh(self.combine(torch.cat([hidden, context], dim=2)))
        return outputs, weights
