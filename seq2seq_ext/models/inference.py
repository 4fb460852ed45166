"""Seq2Seq.for_inference: a decoding-only copy of a model whose decoder keeps
its matrices in float32, bfloat16, or int8 (weight-only: a float32 scale per
output feature, each row quantized symmetrically to [-127, 127]).

Decoding one sentence at a time on a CPU reads every decoder weight once per
step, so the bytes of the weights are its cost: bfloat16 halves them, int8
quarters them. The decoding ops (csrc/decoding/decode_ops.h) take the reduced matrices
as they are and widen them to float32 as they read them
(csrc/core/reduced_linear.h); every sum is float32. The reduced matrices: each
recurrent layer's W_ih and W_hh, Bahdanau's W_q, the combine layer's and the
output layer's weights. The embedding, the biases, Bahdanau's v and Luong's
general W (small, or read a row at a time) and the encoder (run once per
sentence) stay float32."""

import copy

import torch
from torch import Tensor, nn

from .._ops import KERNELS
from ..checkpoint import load_checkpoint, save_checkpoint
from ..functional import lengths_to_mask
from . import search
from .config import Seq2SeqConfig
from .decoder import AttentionDecoder, Memory, decoding_op_arguments
from .loop_ops import check_loop

PRECISIONS = ("float32", "bfloat16", "int8")
INT8_MAX = 127


def quantize_rows(weight: Tensor):
    """weight (N, K) -> (int8 q, float32 scale (N,)) with weight[n] ~ scale[n] * q[n]:
    scale[n] = max |weight[n]| / 127 (1 for a row of zeros), q = round(weight / scale)."""
    largest = weight.abs().amax(dim=1)
    scale = torch.where(largest > 0, largest / INT8_MAX, torch.ones_like(largest))
    q = torch.round(weight / scale[:, None]).clamp_(-INT8_MAX, INT8_MAX)
    return q.to(torch.int8), scale.float()


def _stored(weight: Tensor, precision: str, reducible: bool):
    """(the tensor to store, its scale or None)."""
    weight = weight.detach()
    if not reducible or precision == "float32":
        return weight.clone(), None
    if precision == "bfloat16":
        return weight.to(torch.bfloat16), None
    return quantize_rows(weight)


class DecodingWeights(nn.Module):
    """An AttentionDecoder's weights as the decoding ops take them, as buffers
    named after the decoder's parameters (``rnn_weight_hh_l0``,
    ``output_weight``, ... and ``..._scale`` for int8), and what ``memory()``
    needs (Bahdanau's key projection)."""

    def __init__(self, decoder: AttentionDecoder, precision: str) -> None:
        super().__init__()
        self.config = decoder.config
        self._names, self._scaled = [], []
        for name, weight, reducible in decoder.decoding_weights():
            name = name.replace(".", "_")
            stored, scale = _stored(weight, precision, reducible)
            self.register_buffer(name, stored)
            self._names.append(name)
            if scale is not None:
                self.register_buffer(name + "_scale", scale)
                self._scaled.append(name + "_scale")
        keys_weight = keys_bias = None
        if self.config.attention == "bahdanau":
            attention = decoder.attention
            keys_weight = attention.W_k.weight.detach().clone()
            if attention.normalize:
                keys_bias = attention.b.detach().clone()
        self.register_buffer("keys_weight", keys_weight)
        self.register_buffer("keys_bias", keys_bias)

    def memory(self, encoder_outputs: Tensor, mask: Tensor) -> Memory:
        """As AttentionDecoder.memory: the keys projected once (Bahdanau)."""
        keys_proj = None
        if self.keys_weight is not None:
            keys_proj = nn.functional.linear(encoder_outputs, self.keys_weight, self.keys_bias)
        return Memory(encoder_outputs, mask, keys_proj)

    def decoding_op_arguments(self, memory: Memory, state) -> tuple:
        """As AttentionDecoder.decoding_op_arguments, with the stored weights."""
        weights = [getattr(self, name) for name in self._names]
        return decoding_op_arguments(self.config, weights, memory, state)

    def scales(self) -> list:
        """The int8 matrices' scales, in the order of their matrices."""
        return [getattr(self, name) for name in self._scaled]


class InferenceSeq2Seq(nn.Module):
    """What ``Seq2Seq.for_inference(weights)`` returns: the model's encoder
    (float32) and its decoder's weights in ``weights`` precision, decoding
    with ``greedy_decode`` and ``beam_search`` as the model does, always in
    the C++ loop (reduced precision: on the CPU only). It does not train.
    ``save(path)`` and ``InferenceSeq2Seq.load(path)`` keep it in one file."""

    def __init__(self, model: nn.Module, weights: str = "float32") -> None:
        super().__init__()
        if weights not in PRECISIONS:
            raise ValueError(f"weights must be one of {PRECISIONS}, got {weights!r}")
        self.config: Seq2SeqConfig = model.config
        self.precision = weights
        self.encoder = copy.deepcopy(model.encoder)
        self.decoder = DecodingWeights(model.decoder, weights)
        self.train(False)

    def train(self, mode: bool = True) -> "InferenceSeq2Seq":
        if mode:
            raise RuntimeError("a model from for_inference() only decodes; train the Seq2Seq")
        return super().train(False)

    def forward(self, *args, **kwargs):
        raise RuntimeError(
            "a model from for_inference() only decodes: call greedy_decode or beam_search"
        )

    def encode(self, src: Tensor, src_lengths: Tensor):
        """-> (Memory, the decoder's initial state), as Seq2Seq.encode."""
        outputs, state = self.encoder(src, src_lengths)
        mask = lengths_to_mask(src_lengths.to(src.device), src.shape[1], src.shape[0])
        return self.decoder.memory(outputs, mask), state

    def _check_serves(self, device, loop: str) -> None:
        device_type = torch.device(device).type
        if loop == "python":
            raise ValueError(
                "a model from for_inference() decodes only in the C++ loop (loop='cpp')"
            )
        check_loop(loop)
        if self.precision != "float32" and device_type != "cpu":
            raise ValueError(
                f"{self.precision} decoding weights run on the CPU only, got a source on {device}"
            )
        if not KERNELS.get(("greedy_decode", device_type), False):
            raise ValueError(
                f"no compiled decoding ops on {device_type}, which for_inference needs"
            )

    @torch.no_grad()
    def greedy_decode(
        self, src: Tensor, src_lengths: Tensor, max_len: int = 50, loop: str = "auto"
    ):
        """As Seq2Seq.greedy_decode. -> search.Decoded."""
        return self._decode(torch.ops.seq2seq_ext.greedy_decode, src, src_lengths, max_len, loop)

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
        """As Seq2Seq.beam_search. -> search.Decoded."""
        search.check_beam_size(beam_size)
        op = torch.ops.seq2seq_ext.beam_search
        return self._decode(op, src, src_lengths, max_len, loop, beam_size, float(length_penalty))

    def _decode(self, op, src, src_lengths, max_len, loop, *extra):
        search.check_max_len(max_len)
        self._check_serves(src.device, loop)
        memory, state = self.encode(src, src_lengths)
        return search.run_decoding_op(
            op, self, memory, state, max_len, *extra, scales=self.decoder.scales()
        )

    def save(self, path) -> None:
        """One checkpoint file (checkpoint.py's format): config, precision, buffers."""
        save_checkpoint(
            path,
            {
                "model_config": self.config.to_dict(),
                "inference_weights": self.precision,
                "model": self.state_dict(),
            },
        )

    @classmethod
    def load(cls, path, device="cpu") -> "InferenceSeq2Seq":
        """What save(path) wrote."""
        from .seq2seq import Seq2Seq  # seq2seq.py imports this module

        payload = load_checkpoint(path, map_location=device)
        if "inference_weights" not in payload:
            raise ValueError(f"{path} holds no for_inference() model (load it with load_model)")
        config = Seq2SeqConfig.from_dict(payload["model_config"])
        model = cls(Seq2Seq(config), payload["inference_weights"]).to(device)
        model.load_state_dict(payload["model"])
        return model
