"""Greedy and beam-search decoding of a Seq2Seq model, batched.

The loops here are the definition. On the fused backend with compiled kernels,
the same loops run in C++ (the ops seq2seq_ext::greedy_decode and beam_search,
csrc/decoding/decode_ops.h), step for step the same computations, so they return the
same tokens, attention and lengths without a Python call per step, and the
same scores, bit for bit, except on the CPU in float32: there the op's output
layer, log-softmax and top-k are one fused pass (seq2seq_ext::top_log_probs)
that rounds the logits and the softmax's normalizer in its own order, so the
scores agree to float32 rounding (and the choices, unless two candidates are
within that rounding of each other); where candidates tie exactly, the op takes
the lower hypothesis, then token, where torch.topk's order is unspecified
(docs/design.md, "The decoding ops")."""

from typing import NamedTuple, Optional

import torch
from torch import Tensor

from .loop_ops import loop_op_serves, use_loop_op


class Decoded(NamedTuple):
    tokens: Tensor  # (B, L) int64: output tokens up to EOS, then PAD
    scores: Tensor  # (B,) the ranking score (sum of log-probabilities,
    # divided by the length penalty for beam search)
    attention: Optional[Tensor]  # (B, L, S) weights per output token (None without attention)
    lengths: Tensor  # (B,) int64: tokens up to and including EOS


def _reorder_state(state, index: Tensor):
    """The decoder state (h or (h, c), each (L, B, H)) of batch rows `index`."""
    if isinstance(state, tuple):
        return tuple(s.index_select(1, index) for s in state)
    return state.index_select(1, index)


def check_max_len(max_len: int) -> None:
    if max_len < 1:
        raise ValueError(f"max_len must be >= 1, got {max_len}")


def check_beam_size(beam_size: int) -> None:
    if beam_size < 1:
        raise ValueError(f"beam_size must be >= 1, got {beam_size}")


def decoding_ops_serve(model, device) -> bool:
    """Whether the C++ decoding loop can decode `model` on `device` (loop_ops.loop_op_serves)."""
    return loop_op_serves(model, "greedy_decode", device)


def run_decoding_op(op, model, memory, state, max_len: int, *extra, scales=()) -> Decoded:
    """The decoding op `op` (greedy_decode, or beam_search with `extra` its
    beam size and length penalty) on the encoded memory and state. scales:
    those of the int8 matrices among the decoder's weights (reduced.py)."""
    config = model.config
    tokens, scores, attention, lengths = op(
        *model.decoder.decoding_op_arguments(memory, state),
        config.sos_index,
        config.eos_index,
        config.pad_index,
        max_len,
        *extra,
        list(scales),
    )
    return Decoded(tokens, scores, attention if config.attention != "none" else None, lengths)


def greedy_decode(
    model, src: Tensor, src_lengths: Tensor, max_len: int, loop: str = "auto"
) -> Decoded:
    """The most likely token at each step. loop: "cpp" runs the loop as one C++
    op, "python" step by step through the modules, "auto" the C++ op wherever
    it serves (decoding_ops_serve); both compute the same."""
    check_max_len(max_len)
    use_cpp = use_loop_op(model, "greedy_decode", src.device, loop)
    config = model.config
    memory, state = model.encode(src, src_lengths)
    if use_cpp:
        return run_decoding_op(torch.ops.seq2seq_ext.greedy_decode, model, memory, state, max_len)
    batch = src.shape[0]
    token = torch.full((batch,), config.sos_index, dtype=torch.long, device=src.device)
    finished = torch.zeros(batch, dtype=torch.bool, device=src.device)
    lengths = torch.zeros(batch, dtype=torch.long, device=src.device)
    scores = torch.zeros(batch, device=src.device, dtype=memory.values.dtype)
    tokens, weights_per_step, feed = [], [], None
    for _ in range(max_len):
        logits, state, weights, feed = model.decoder.step(token, state, memory, feed)
        log_probs = torch.log_softmax(logits, dim=1)
        best, token = log_probs.max(dim=1)
        token = token.masked_fill(finished, config.pad_index)
        scores += best.masked_fill(finished, 0.0)
        lengths += (~finished).long()
        tokens.append(token)
        weights_per_step.append(weights)
        finished |= token == config.eos_index
        if bool(finished.all()):
            break
    attention = torch.stack(weights_per_step, dim=1) if weights_per_step[0] is not None else None
    return Decoded(torch.stack(tokens, dim=1), scores, attention, lengths)


def length_penalty_factor(lengths: Tensor, alpha: float) -> Tensor:
    """GNMT's length penalty ((5 + length) / 6) ** alpha (Wu et al., 2016)."""
    return ((5.0 + lengths.to(torch.float64)) / 6.0) ** alpha


def beam_search(
    model,
    src: Tensor,
    src_lengths: Tensor,
    beam_size: int,
    max_len: int,
    length_penalty: float,
    loop: str = "auto",
) -> Decoded:
    """Keeps the beam_size best partial hypotheses of each sentence by summed
    log-probability. A finished hypothesis stays in the beam and can only be
    extended by PAD, at no cost; a hypothesis of score -inf (where a sentence
    has fewer possible continuations than beams, e.g. beam_size > vocabulary)
    counts as finished. At the end each sentence's hypotheses are ranked by
    score / length_penalty_factor(length). loop as greedy_decode's."""
    check_max_len(max_len)
    check_beam_size(beam_size)
    use_cpp = use_loop_op(model, "beam_search", src.device, loop)
    config = model.config
    batch, beams, device = src.shape[0], beam_size, src.device
    memory, state = model.encode(src, src_lengths)
    if use_cpp:
        return run_decoding_op(
            torch.ops.seq2seq_ext.beam_search,
            model,
            memory,
            state,
            max_len,
            beam_size,
            float(length_penalty),
        )
    # Every row of the batch becomes `beams` rows, sentence-major: row b*beams + k.
    rows = torch.arange(batch, device=device).repeat_interleave(beams)
    memory, state = memory.index_select(rows), _reorder_state(state, rows)
    token = torch.full((batch * beams,), config.sos_index, dtype=torch.long, device=device)
    scores = torch.zeros(batch, beams, dtype=memory.values.dtype, device=device)
    scores[:, 1:] = float("-inf")  # the beams start identical: keep one
    finished = torch.zeros(batch * beams, dtype=torch.bool, device=device)
    lengths = torch.zeros(batch * beams, dtype=torch.long, device=device)
    tokens = torch.empty(batch * beams, 0, dtype=torch.long, device=device)
    attention, feed = None, None
    first_row = (torch.arange(batch, device=device) * beams).unsqueeze(1)
    for _ in range(max_len):
        logits, state, weights, feed = model.decoder.step(token, state, memory, feed)
        log_probs = torch.log_softmax(logits, dim=1)
        log_probs[finished] = float("-inf")
        log_probs[finished, config.pad_index] = 0.0
        vocab = log_probs.shape[1]
        candidates = (scores.view(-1, 1) + log_probs).view(batch, beams * vocab)
        scores, best = candidates.topk(beams, dim=1)
        origin = (first_row + best // vocab).view(-1)
        token = (best % vocab).view(-1)
        state = _reorder_state(state, origin)
        feed = feed.index_select(0, origin) if feed is not None else None
        finished, lengths = finished[origin], lengths[origin]
        tokens = torch.cat([tokens[origin], token.unsqueeze(1)], dim=1)
        if weights is not None:
            step_weights = weights[origin].unsqueeze(1)
            attention = (
                step_weights
                if attention is None
                else torch.cat([attention[origin], step_weights], dim=1)
            )
        lengths += (~finished).long()
        # A hypothesis of score -inf (fewer continuations than beams) is finished.
        finished |= (token == config.eos_index) | (scores.view(-1) == float("-inf"))
        if bool(finished.all()):
            break
    ranked = scores / length_penalty_factor(lengths.view(batch, beams), length_penalty)
    best_beam = ranked.argmax(dim=1)
    chosen = first_row.squeeze(1) + best_beam
    final_attention = attention[chosen] if attention is not None else None
    return Decoded(
        tokens[chosen],
        ranked.gather(1, best_beam.unsqueeze(1)).squeeze(1).to(scores.dtype),
        final_attention,
        lengths[chosen],
    )
