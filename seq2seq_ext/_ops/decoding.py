"""The decoding ops (greedy_decode, beam_search: a Seq2Seq decoder's whole
loop in C++; top_log_probs: their scoring of a step on the CPU; reduced_linear:
a product with reduced-precision weights): their fake kernels. They are not
differentiable (decoding runs under torch.no_grad), so they have no autograd
formula, and their arguments are a model's weights, so no autocast either."""

import torch


def _decoded_fake(weights, cell, attention, input_feeding, state, values, mask, keys_proj, *rest):
    """tokens (B, L), scores (B,), attention (B, L, S) or empty, lengths (B,),
    where L (the steps until every row finished) is known only when it runs."""
    batch, src_len = mask.shape
    steps = torch.library.get_ctx().new_dynamic_size()
    weights_out = (
        values.new_empty(batch, steps, src_len) if attention != "none" else values.new_empty(0)
    )
    longs = dict(dtype=torch.long)
    return (
        values.new_empty(batch, steps, **longs),
        values.new_empty(batch),
        weights_out,
        values.new_empty(batch, **longs),
    )


torch.library.register_fake("seq2seq_ext::greedy_decode", _decoded_fake)
torch.library.register_fake("seq2seq_ext::beam_search", _decoded_fake)


@torch.library.register_fake("seq2seq_ext::reduced_linear")
def _reduced_linear_fake(input, weight, scale=None, bias=None):
    return input.new_empty(*input.shape[:-1], weight.shape[0])


@torch.library.register_fake("seq2seq_ext::top_log_probs")
def _top_log_probs_fake(input, weight, scale=None, bias=None, k=1):
    k = min(k, weight.shape[0])
    return input.new_empty(input.shape[0], k), input.new_empty(input.shape[0], k, dtype=torch.long)
