"""Every CUDA kernel of seq2seq_ext once, forward and backward, on tiny shapes:
what .ci/gpu runs under compute-sanitizer (memcheck, initcheck, racecheck,
synccheck), where each kernel launch is slow. Covers each cell and layer op
(the LSTM with and without a projection, an unsorted packed batch, the output
masks a frozen weight or input gives), the masked softmax (an all-masked row),
Bahdanau (masked, a source of length 0) and Luong (dot and general), and
the decoder loop ops (greedy and beam search of small models, each attention,
and the step-by-step training pass with scheduled sampling, forward and
backward), in float32 and bfloat16 (or the dtypes named). Prints one line
per case; exits non-zero on an error.

    python .ci/sanitize_cases.py [cuda|cpu] [DTYPE ...]   (cpu: a dry run)
"""

import sys

import torch
from torch.nn.utils.rnn import pack_padded_sequence

import seq2seq_ext
from seq2seq_ext import functional
from seq2seq_ext.models import Seq2Seq

DEVICE = sys.argv[1] if len(sys.argv) > 1 else "cuda"
DTYPES = [getattr(torch, name) for name in sys.argv[2:]] or [torch.float32, torch.bfloat16]


def backward_of(*outputs):
    torch.autograd.backward([o.float().sum() for o in outputs if o.requires_grad])


def cells(dtype):
    x = torch.randn(3, 5, device=DEVICE, dtype=dtype, requires_grad=True)
    for module in (
        seq2seq_ext.FusedLSTMCell(5, 6),
        seq2seq_ext.FusedGRUCell(5, 6),
        seq2seq_ext.FusedRNNCell(5, 6, nonlinearity="tanh"),
        seq2seq_ext.FusedRNNCell(5, 6, nonlinearity="relu"),
    ):
        module = module.to(DEVICE, dtype)
        out = module(x)
        backward_of(*(out if isinstance(out, tuple) else (out,)))
        module.weight_hh.requires_grad_(False)  # another output_mask
        out = module(x.detach())
        backward_of(*(out if isinstance(out, tuple) else (out,)))


def layers(dtype):
    lengths = torch.tensor([4, 1, 3])  # unsorted, with a length-1 sequence
    for module in (
        seq2seq_ext.FusedLSTM(5, 6, num_layers=2, bidirectional=True),
        seq2seq_ext.FusedLSTM(5, 6, proj_size=3),
        seq2seq_ext.FusedGRU(5, 6, bidirectional=True),
        seq2seq_ext.FusedRNN(5, 6, nonlinearity="tanh"),
        seq2seq_ext.FusedRNN(5, 6, nonlinearity="relu"),
    ):
        module = module.to(DEVICE, dtype)
        x = torch.randn(4, 3, 5, device=DEVICE, dtype=dtype, requires_grad=True)
        out, _ = module(x)
        backward_of(out)
        packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
        out, _ = module(packed)
        backward_of(out.data)


def attention(dtype):
    def rand(*shape):
        return torch.randn(*shape, device=DEVICE, dtype=dtype, requires_grad=True)

    scores = rand(3, 7)
    mask = torch.tensor([[True] * 7, [False] * 7, [True, False] * 3 + [True]], device=DEVICE)
    backward_of(functional.masked_softmax(scores, mask))
    for S in (7, 0):
        mask = torch.ones(3, S, dtype=torch.bool, device=DEVICE)
        if S:
            mask[1] = False
        for query in (rand(3, 8), rand(3, 4, 8), rand(3, 0, 8)):  # one, T or no queries a row
            backward_of(
                *functional.bahdanau_attention(query, rand(3, S, 8), rand(3, S, 5), rand(8), mask)
            )
    keys, values = rand(3, 7, 8), rand(3, 7, 5)
    mask = torch.ones(3, 7, dtype=torch.bool, device=DEVICE)
    backward_of(*functional.luong_attention(rand(3, 8), keys, values, mask))
    backward_of(*functional.luong_attention(rand(3, 4), keys, values, mask, W=rand(4, 8)))


def decoder_loops(dtype):
    src = torch.tensor([[4, 5, 6, 3], [7, 3, 0, 0]], device=DEVICE)
    lengths = torch.tensor([4, 2], device=DEVICE)
    for cell, attention in (("lstm", "bahdanau"), ("gru", "luong-general"), ("rnn_tanh", "none")):
        model = Seq2Seq(
            src_vocab_size=9,
            tgt_vocab_size=8,
            embedding_size=5,
            hidden_size=6,
            num_layers=2,
            cell=cell,
            attention=attention,
            bidirectional=attention != "none",
            input_feeding=attention == "bahdanau",
            dropout=0.2,  # the training pass's masks
        )
        model = model.to(DEVICE, dtype).eval()
        model.greedy_decode(src, lengths, max_len=5, loop="cpp")
        model.beam_search(src, lengths, beam_size=3, max_len=5, length_penalty=1.0, loop="cpp")
        tgt = torch.tensor([[1, 4, 5, 2], [1, 6, 2, 0]], device=DEVICE)
        backward_of(model.train()(src, lengths, tgt, teacher_forcing_ratio=0.5, loop="cpp"))


def main():
    served = seq2seq_ext.backend_summary(DEVICE)
    assert served["compiled_kernels"], f"not all ops run compiled kernels on {DEVICE}: {served}"
    for dtype in DTYPES:
        for case in (cells, layers, attention, decoder_loops):
            case(dtype)
            if DEVICE == "cuda":
                torch.cuda.synchronize()
            print(f"{case.__name__} {dtype}: ran", flush=True)
    print("sanitize cases: all ran")


if __name__ == "__main__":
    main()
