"""Attention modules on the fused ops. Both return ``(context, weights)``:
context (B, value_size), weights (B, S); masks are bool (B, S) with True = a
real position, or give ``lengths`` (int64 (B,)) instead.

A decoder projects the encoder outputs once per source sentence and reuses
the projection at every step::

    attention = BahdanauAttention(query_size=H, key_size=2 * H, attn_size=H)
    keys_proj = attention.project_keys(encoder_outputs)          # (B, S, A), once
    for step in range(max_len):
        context, weights = attention(h, encoder_outputs, lengths=src_lengths,
                                     keys_proj=keys_proj)
"""

import math
from typing import Optional

import torch
from torch import Tensor, nn

from .. import functional
from . import torch_attention
from .backends import check_backend


def _attend(name: str, backend: str, *args, mask=None, lengths=None, **kwargs):
    """Calls the fused op `name` of functional.py, or (backend="torch") the
    torch ops of torch_attention.py, which take a mask only."""
    if backend == "fused":
        return getattr(functional, name)(*args, mask=mask, lengths=lengths, **kwargs)
    values = args[2]
    mask = functional.resolve_mask(mask, lengths, values.shape[0], values.shape[1])
    return getattr(torch_attention, name)(*args, mask=mask, **kwargs)


class BahdanauAttention(nn.Module):
    """Additive attention (Bahdanau et al., 2015):
    ``score[b,s] = v . tanh(W_q query[b] + W_k keys[b,s])``, masked softmax over s,
    context = weighted sum of the values.

    ``W_q`` (query_size -> attn_size) and ``W_k`` (key_size -> attn_size) are
    ``nn.Linear`` without bias: a bias on either would only shift the tanh
    argument, which ``normalize=True`` provides once, as ``b``.

    ``normalize=True`` is the weight-normalised form used by GNMT (Salimans &
    Kingma, 2016): ``v`` is replaced by ``g * v / ||v||`` with a scalar gain
    ``g`` (initialised to ``1/sqrt(attn_size)``), and a bias ``b`` (zeros) is
    added inside the tanh; ``project_keys`` folds ``b`` into the key projection.
    """

    def __init__(
        self,
        query_size: int,
        key_size: int,
        attn_size: int,
        normalize: bool = False,
        backend: str = "fused",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.backend = check_backend(backend, "BahdanauAttention")
        factory = dict(device=device, dtype=dtype)
        self.query_size, self.key_size, self.attn_size = query_size, key_size, attn_size
        self.normalize = normalize
        self.W_q = nn.Linear(query_size, attn_size, bias=False, **factory)
        self.W_k = nn.Linear(key_size, attn_size, bias=False, **factory)
        self.v = nn.Parameter(torch.empty(attn_size, **factory))
        if normalize:
            self.g = nn.Parameter(torch.empty((), **factory))
            self.b = nn.Parameter(torch.empty(attn_size, **factory))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.W_q.reset_parameters()
        self.W_k.reset_parameters()
        bound = 1 / math.sqrt(self.attn_size)
        nn.init.uniform_(self.v, -bound, bound)
        if self.normalize:
            nn.init.constant_(self.g, bound)
            nn.init.zeros_(self.b)

    def project_keys(self, keys: Tensor) -> Tensor:
        """keys (B, S, key_size) -> keys_proj (B, S, attn_size). Once per source."""
        keys_proj = self.W_k(keys)
        return keys_proj + self.b if self.normalize else keys_proj

    def scoring_vector(self) -> Tensor:
        """v, or g * v / ||v|| when normalize=True."""
        return self.g * self.v / self.v.norm() if self.normalize else self.v

    def forward(
        self,
        query: Tensor,
        values: Tensor,
        mask: Optional[Tensor] = None,
        lengths: Optional[Tensor] = None,
        keys_proj: Optional[Tensor] = None,
    ):
        """query (B, query_size), values (B, S, value_size). The keys are the
        values (key_size == value_size) unless ``keys_proj`` (from
        ``project_keys``) is given, which also saves recomputing it each step.

        A query of shape (B, T, query_size) holds T queries per row (a decoder's
        every step): context (B, T, value_size) and weights (B, T, S), in one
        call of the fused op against the row's memory (no copy per query)."""
        if keys_proj is None:
            keys_proj = self.project_keys(values)
        return _attend(
            "bahdanau_attention",
            self.backend,
            self.W_q(query),
            keys_proj,
            values,
            self.scoring_vector(),
            mask=mask,
            lengths=lengths,
        )

    def extra_repr(self) -> str:
        return (
            f"query_size={self.query_size}, key_size={self.key_size}, "
            f"attn_size={self.attn_size}, normalize={self.normalize}, backend={self.backend!r}"
        )


class LuongAttention(nn.Module):
    """Multiplicative attention (Luong et al., 2015): ``score[b,s] = query[b] . keys[b,s]``
    (``method="dot"``, query_size == key_size) or ``query[b] @ W @ keys[b,s]``
    (``method="general"``, ``W`` of shape (query_size, key_size), initialised
    like an ``nn.Linear(key_size, query_size)`` weight)."""

    METHODS = ("dot", "general")

    def __init__(
        self,
        query_size: int,
        key_size: int,
        method: str = "dot",
        backend: str = "fused",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.backend = check_backend(backend, "LuongAttention")
        if method not in self.METHODS:
            raise ValueError(
                f"LuongAttention: method must be one of {self.METHODS}, got {method!r}"
            )
        if method == "dot" and query_size != key_size:
            raise ValueError(
                f"LuongAttention: dot attention needs query_size == key_size, "
                f"got {query_size} and {key_size}"
            )
        self.query_size, self.key_size, self.method = query_size, key_size, method
        if method == "general":
            self.W = nn.Parameter(torch.empty(query_size, key_size, device=device, dtype=dtype))
            nn.init.kaiming_uniform_(self.W, a=math.sqrt(5))  # nn.Linear's weight init
        else:
            self.register_parameter("W", None)

    def forward(
        self,
        query: Tensor,
        keys: Tensor,
        values: Optional[Tensor] = None,
        mask: Optional[Tensor] = None,
        lengths: Optional[Tensor] = None,
    ):
        """query (B, query_size), keys (B, S, key_size), values (B, S, value_size),
        by default the keys.

        A query of shape (B, T, query_size) holds T queries per row (a decoder's
        every step): context (B, T, value_size) and weights (B, T, S), computed
        as the op does, GEMMs around the masked softmax, with T queries per GEMM."""
        values = keys if values is None else values
        if query.dim() != 3:
            return _attend(
                "luong_attention",
                self.backend,
                query,
                keys,
                values,
                mask=mask,
                W=self.W,
                lengths=lengths,
            )
        mask = functional.resolve_mask(mask, lengths, values.shape[0], values.shape[1])
        if self.W is not None:
            query = query @ self.W
        scores = torch.bmm(query, keys.transpose(1, 2))  # (B, T, S)
        fused = self.backend == "fused"
        softmax = functional.masked_softmax if fused else torch_attention.masked_softmax
        weights = softmax(scores, mask.unsqueeze(1) if mask is not None else None)
        return torch.bmm(weights, values), weights

    def extra_repr(self) -> str:
        return (
            f"query_size={self.query_size}, key_size={self.key_size}, method={self.method!r}, "
            f"backend={self.backend!r}"
        )
