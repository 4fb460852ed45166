"""Seq2Seq: an Encoder and an AttentionDecoder, trained with (scheduled)
teacher forcing, decoded greedily or with beam search."""

from typing import Optional

import torch
from torch import Tensor, nn

from ..functional import lengths_to_mask
from . import search
from .config import Seq2SeqConfig
from .decoder import AttentionDecoder, Memory
from .encoder import Encoder
from .inference import InferenceSeq2Seq
from .loop_ops import use_loop_op


class Seq2Seq(nn.Module):
    """``Seq2Seq(config)`` or ``Seq2Seq(src_vocab_size=..., tgt_vocab_size=..., ...)``
    with the fields of Seq2SeqConfig. Token ids are batch-first int64; targets
    are ``[SOS, y_1, ..., y_n, EOS, PAD, ...]``."""

    def __init__(self, config: Optional[Seq2SeqConfig] = None, **kwargs) -> None:
        super().__init__()
        if config is None:
            config = Seq2SeqConfig(**kwargs)
        elif kwargs:
            raise TypeError("give a Seq2SeqConfig or its fields as keyword arguments, not both")
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = AttentionDecoder(config)

    def encode(self, src: Tensor, src_lengths: Tensor):
        """-> (Memory, the decoder's initial state)."""
        outputs, state = self.encoder(src, src_lengths)
        mask = lengths_to_mask(src_lengths.to(src.device), src.shape[1], src.shape[0])
        return self.decoder.memory(outputs, mask), state

    def forward(
        self,
        src: Tensor,
        src_lengths: Tensor,
        tgt: Tensor,
        teacher_forcing_ratio: float = 1.0,
        loop: str = "auto",
        project: bool = True,
    ):
        """-> logits (B, T-1, V) predicting tgt[:, 1:] from tgt[:, :-1]; with
        ``project=False``, the output layer's input instead, (B, T-1, H), for
        ``decoder.output_loss`` (the output layer and the cross-entropy in one;
        not with scheduled sampling, which needs the logits).

        With ``teacher_forcing_ratio`` < 1 (scheduled sampling), each example's
        next input is the true token with that probability, else the model's own
        previous prediction. Ratio 1 without input feeding runs the decoder's
        recurrent layer once over all steps; otherwise it runs step by step:
        ``loop`` as greedy_decode's, for the op
        ``seq2seq_ext::decoder_stepwise_pass`` (the loop and its backward
        through time in C++)."""
        if tgt.dim() != 2 or tgt.dtype != torch.int64 or tgt.shape[0] != src.shape[0]:
            raise ValueError(
                f"expected tgt of dtype int64 and shape ({src.shape[0]}, tgt_len), "
                f"got {tgt.dtype} of shape {list(tgt.shape)}"
            )
        if tgt.shape[1] < 2:
            raise ValueError(f"tgt needs at least 2 tokens (SOS and EOS), got {tgt.shape[1]}")
        if not 0.0 <= teacher_forcing_ratio <= 1.0:
            raise ValueError(
                f"teacher_forcing_ratio must be in [0, 1], got {teacher_forcing_ratio}"
            )
        if not project and teacher_forcing_ratio < 1.0:
            raise ValueError(
                "scheduled sampling (teacher_forcing_ratio < 1) feeds the logits' argmax:"
                " it needs project=True"
            )
        memory, state = self.encode(src, src_lengths)
        tgt_in = tgt[:, :-1]
        if teacher_forcing_ratio == 1.0 and not self.config.input_feeding:
            logits, _, _ = self.decoder(tgt_in, state, memory, project)
            return logits
        # Scheduled sampling: whether each step of each example reads the true token.
        use_truth = None
        if teacher_forcing_ratio < 1.0:
            use_truth = torch.rand(tgt_in.shape, device=tgt_in.device) < teacher_forcing_ratio
        if use_loop_op(self, "decoder_stepwise_pass", src.device, loop):
            return torch.ops.seq2seq_ext.decoder_stepwise_pass(
                *self.decoder.decoding_op_arguments(memory, state),
                tgt_in,
                use_truth,
                self.decoder.dropout_masks(tgt_in.shape[1], tgt_in.shape[0], like=memory.values),
                self.config.pad_index,
                project,
            )[0]
        return self._decode_step_by_step(tgt_in, state, memory, use_truth, project)

    def _decode_step_by_step(self, tgt_in: Tensor, state, memory: Memory, use_truth, project=True):
        logits, feed = [], None
        for step in range(tgt_in.shape[1]):
            token = tgt_in[:, step]
            if step > 0 and use_truth is not None:
                token = torch.where(use_truth[:, step], token, logits[-1].argmax(dim=1))
            step_logits, state, _, feed = self.decoder.step(token, state, memory, feed, project)
            logits.append(step_logits)
        return torch.stack(logits, dim=1)

    @torch.no_grad()
    def greedy_decode(
        self, src: Tensor, src_lengths: Tensor, max_len: int = 50, loop: str = "auto"
    ):
        """The most likely token at each step. -> search.Decoded. ``loop``: "cpp"
        runs the loop as one C++ op, "python" step by step through the modules,
        "auto" the C++ op wherever search.decoding_ops_serve; both return the same."""
        return search.greedy_decode(self, src, src_lengths, max_len, loop)

    @torch.no_grad()
    def beam_search(
        self,
        src: Tensor,
        src_lengths: Tensor,
        beam_size: int = 4,
        max_len: int = 50,
        length_penalty: float = 0.0,
        loop: str = "auto",
    ):
        """The best of ``beam_size`` hypotheses kept at each step, ranked at the end
        by log-probability / ((5 + length) / 6) ** length_penalty. -> search.Decoded.
        ``loop`` as greedy_decode's."""
        return search.beam_search(self, src, src_lengths, beam_size, max_len, length_penalty, loop)

    def for_inference(self, weights: str = "float32") -> InferenceSeq2Seq:
        """A decoding-only copy whose decoder matrices are stored in ``weights``
        precision: ``float32``, ``bfloat16`` or ``int8`` (weight-only, a scale per
        output feature), for decoding on the CPU with less memory to read per
        step (inference.py). It decodes as this model does (greedy_decode,
        beam_search), saves and loads (save, InferenceSeq2Seq.load)."""
        return InferenceSeq2Seq(self, weights)
