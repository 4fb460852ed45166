"""The attention of the "torch" backend: what a PyTorch user writes with torch
ops alone, in the arguments' own dtype. The same functions as the fused ops
(reference.py specifies them; the tests compare): a row that attends to
nothing gets zero weights, a zero context and zero gradients."""

import torch


def masked_softmax(scores, mask=None):
    """Softmax over the last dimension where `mask` (broadcastable) is True."""
    if mask is None:
        return torch.softmax(scores, dim=-1)
    weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    return weights.masked_fill(~mask, 0.0)  # a row with no position: NaN -> 0


def bahdanau_attention(query_proj, keys_proj, values, v, mask=None):
    """query_proj (B, A) or (B, T, A), keys_proj (B, S, A), values (B, S, D), v (A,)."""
    if query_proj.dim() == 3:
        scores = torch.tanh(query_proj.unsqueeze(2) + keys_proj.unsqueeze(1)) @ v  # (B, T, S)
        weights = masked_softmax(scores, mask.unsqueeze(1) if mask is not None else None)
        return torch.bmm(weights, values), weights
    scores = torch.tanh(query_proj.unsqueeze(1) + keys_proj) @ v  # (B, S)
    weights = masked_softmax(scores, mask)
    return torch.bmm(weights.unsqueeze(1), values).squeeze(1), weights


def luong_attention(query, keys, values, mask=None, W=None):
    """query (B, Q), keys (B, S, K), values (B, S, D); W (Q, K) for "general"."""
    if W is not None:
        query = query @ W
    scores = torch.bmm(keys, query.unsqueeze(2)).squeeze(2)
    weights = masked_softmax(scores, mask)
    return torch.bmm(weights.unsqueeze(1), values).squeeze(1), weights
