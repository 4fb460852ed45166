"""The two backends a module or model of this package runs on:

- ``"fused"``: this package's kernels (``seq2seq_ext.functional``);
- ``"torch"``: PyTorch alone: torch.nn's recurrent layers, and for attention,
  which torch.nn does not have, compositions of torch ops (torch_attention.py).

Both have the same parameters, so a state_dict moves between them."""

BACKENDS = ("fused", "torch")


def check_backend(backend: str, owner: str) -> str:
    """`backend` if it is one of BACKENDS, else a ValueError naming `owner`."""
    if backend not in BACKENDS:
        raise ValueError(f"{owner}: backend must be one of {BACKENDS}, got {backend!r}")
    return backend
