"""FlashRNN (Pöppel et al., 2024; ``pip install flashrnn``): fused CUDA and
Triton LSTM / GRU kernels, the fastest published peer on a GPU. It compiles its
kernels on first use (the warm-up calls pay for that, untimed).

FlashRNN's kernels take the input projection ``x W_ihᵀ`` precomputed (its
``Wx``), so the peer runs that GEMM too, as the layer it stands in for does. Its
recurrent weights and biases have its own layout and gate order; their sizes
are the torch module's (one head of H units), and the time of a layer does not
depend on the values of its weights."""

import torch

# The kernels FlashRNN has for each cell: the fused one for the LSTM; the GRU
# has only the alternating one ("cuda").
BACKENDS = {"lstm": "cuda_fused", "gru": "cuda"}


def flashrnn_peers(cell_name, torch_module, dtype, device):
    """{"FlashRNN": (its weights, fn(x (T, B, I)) -> the hidden states)} for an
    LSTM or GRU layer on CUDA, or {} where FlashRNN is not installed or does not
    apply."""
    if torch.device(device).type != "cuda" or cell_name not in BACKENDS:
        return {}
    try:
        from flashrnn import FlashRNNConfig, flashrnn
    except ImportError:
        return {}
    H = torch_module.hidden_size
    dtype_name = str(dtype).removeprefix("torch.")
    config = FlashRNNConfig(
        function=cell_name,
        backend=BACKENDS[cell_name],
        dtype=dtype_name,
        num_heads=1,
        head_dim=H,
        hidden_dim=H,
    )
    gates_w, gates_r, gates_t = config.num_gates_w, config.num_gates_r, config.num_gates_t
    w_ih = torch_module.weight_ih_l0.detach()[: gates_w * H].t().contiguous()  # (I, G_w * H)
    R = torch.randn(gates_r, 1, H, H, device=device, dtype=dtype) / H**0.5
    b = torch.zeros(gates_t, 1, H, device=device, dtype=dtype)
    weights = [w.requires_grad_() for w in (w_ih, R, b)]

    def run(x):
        steps, batch = x.shape[:2]
        Wx = (x @ w_ih).view(steps, batch, gates_w, 1, H).transpose(0, 1)  # (B, T, G, 1, H)
        states, _ = flashrnn(
            Wx, R, b, function=cell_name, backend=BACKENDS[cell_name], dtype=dtype_name
        )
        return states[0]  # (B, T, 1, H): the hidden state of every step

    return {"FlashRNN": (weights, run)}
