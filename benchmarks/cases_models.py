"""Model cases: the Seq2Seq model on this package's kernels (backend "fused")
against the same model on torch.nn's layers and the pure-PyTorch attention
(backend "torch", loaded with the same state_dict), and against torch.compile
of the fused model (Dynamo does not trace torch.nn's RNNs; on CUDA also with
mode="reduce-overhead"):

- the encoder (``model.encoder``: embedding, the recurrent stack over the
  source and its lengths, the bridge) without grad, at the sizes of the
  decoder step's cases and, in full runs, the one sentence's model over a batch
  of 64; ONNX Runtime is a peer here (benchmarks/peers.py): the fused model's
  encoder exported as seq2seq_ext.onnx exports it (lengths as the ONNX nodes'
  sequence_lens), and the torch.nn one over the padded batch (torch.export
  cannot trace pack_padded_sequence; every sentence here is full length, so
  it computes the same);
- one decoder step (``decoder.step`` on a precomputed memory) and the
  teacher-forced pass (the whole forward), forward and forward+backward, at
  the reverse-words task's size (GRU) and, in full runs, at a large one (LSTM, 8000 words);
- one training step of the model examples/reverse_words.py --quick trains
  (forward, masked cross-entropy, backward, clipping at 1.0, Adam), in tokens/s,
  and of the same model with input feeding (its decoder runs step by step:
  the fused model's loop in C++, the op decoder_stepwise_pass, and one more
  peer, the same model's loop in Python, ``loop="python"``);
- greedy and beam-search (beam 4) decoding of those 64 sentences and, in full
  runs, of 64 at the large size, in sentences/s; the fused model decodes with
  its loop in C++ (the decoding ops), and has one more peer, the same model
  decoding with the loop in Python (``loop="python"``);
- in full runs, one sentence (batch 1, a 2-layer bidirectional GRU, 8000
  words), greedy and beam 5: the per-step cost a user translating a sentence waits for. On the CPU
  its decoding has one more peer, the torch backend with int8 weights by
  torch.ao.quantization.quantize_dynamic (the usual way to speed up a CPU
  translation model); and the same sentence is decoded by the model's
  ``for_inference("bfloat16")`` and ``("int8")`` copies (cases "..., int8
  weights"; the compute stays float32), with the float32 fused model as one
  more peer.

All with Bahdanau attention, in float32. FLOPs: seq2seq_ext.flops.count_flops
(of the padded batch). Bytes: the parameters read once, and the case's inputs
and outputs (times three with the backward, as benchmarks/costs.py counts).

This module says what each case is and costs; the implementations it times,
ours and the peers, are in benchmarks/model_impls.py.
"""

import dataclasses
from functools import partial

import torch

from seq2seq_ext.flops import count_flops, count_parameters
from seq2seq_ext.models import Seq2Seq, Seq2SeqConfig
from seq2seq_ext.nmt.data import SPECIAL_TOKENS, Vocab, collate, make_loader, reverse_words_pairs

from .costs import FORWARD_BACKWARD_FACTOR, element_bytes
from .model_impls import (
    decode_impls,
    encoder_impls,
    pass_impls,
    reduced_decode_impls,
    step_impls,
    training_impls,
)

SUITE = "models"
TIMING = {"quick": dict(warmup=2, repeats=5), "full": dict(warmup=2, repeats=7)}
# The models of the decoder step and pass cases: (config, batch B, source
# length S, target length T). Quick runs keep the first.
SIZES = [
    (
        Seq2SeqConfig(40, 40, embedding_size=128, hidden_size=256, cell="gru"),
        64,
        12,
        12,
    ),  # the reverse-words task
    (Seq2SeqConfig(8000, 8000, embedding_size=512, hidden_size=512, cell="lstm"), 64, 50, 50),
]
BEAM = 4
# The one-sentence case: (config, B, S, T) and its beam.
SENTENCE = (
    Seq2SeqConfig(
        8000, 8000, embedding_size=256, hidden_size=256, num_layers=2, bidirectional=True
    ),
    1,
    20,
    25,
)
SENTENCE_BEAM = 5
ENCODER_BATCH = 64  # the one sentence's model's encoder, over a batch
REDUCED_WEIGHTS = ("bfloat16", "int8")  # the one sentence's for_inference copies
ADAM_ACCESSES = (
    7  # per parameter: reads it, its gradient and two moments; writes it and the moments
)


def cases(device, quick):
    """Yields (params, make_impls), as benchmarks.run expects."""
    sized = [
        (config, _random_batch(config, *shape))
        for config, *shape in (SIZES[:1] if quick else SIZES)
    ]
    sentence_config, *sentence_shape = SENTENCE
    encoders = (
        sized
        if quick
        else sized
        + [(sentence_config, _random_batch(sentence_config, ENCODER_BATCH, *sentence_shape[1:]))]
    )
    for config, batch in encoders:
        yield (
            _params("encoder", "fwd", config, batch, **_encoder_costs(config, batch)),
            partial(encoder_impls, config, batch, device),
        )
    for config, batch in sized:
        for mode in ("fwd", "fwd+bwd"):
            yield (
                _params("decoder step", mode, config, batch, **_step_costs(config, batch, mode)),
                partial(step_impls, config, batch, mode, device),
            )
        for mode in ("fwd", "fwd+bwd"):
            yield (
                _params(
                    "teacher-forced pass", mode, config, batch, **_pass_costs(config, batch, mode)
                ),
                partial(pass_impls, config, batch, mode, device),
            )
    words_config, words_batch = _reverse_words()
    tokens = int(
        (words_batch.tgt[:, 1:] != words_config.pad_index).sum()
    )  # the targets the loss counts
    feeding_config = dataclasses.replace(words_config, input_feeding=True)
    for label, config in (
        ("training step", words_config),
        ("training step, input feeding", feeding_config),
    ):
        yield (
            _params(
                label,
                "fwd+bwd",
                config,
                words_batch,
                items=tokens,
                items_unit="tokens",
                **_training_costs(config, words_batch),
            ),
            partial(training_impls, config, words_batch, device),
        )
    decodes = [(words_config, words_batch, BEAM)] + [(c, b, BEAM) for c, b in sized[1:]]
    sentence = _random_batch(sentence_config, *sentence_shape)
    if not quick:
        decodes.append((sentence_config, sentence, SENTENCE_BEAM))
    for config, batch, beam_size in decodes:
        for beam in (1, beam_size):
            label = "greedy decode" if beam == 1 else f"beam {beam} decode"
            yield (
                _params(
                    label,
                    "fwd",
                    config,
                    batch,
                    items=batch.src.shape[0],
                    items_unit="sentences",
                    **_decode_costs(config, batch, beam),
                ),
                partial(decode_impls, config, batch, beam, device),
            )
    if quick or torch.device(device).type != "cpu":
        return  # reduced-precision weights decode on the CPU only
    for weights in REDUCED_WEIGHTS:
        saved_bytes = _saved_bytes(sentence_config, weights)
        for beam in (1, SENTENCE_BEAM):
            yield (
                _params(
                    f"{'greedy' if beam == 1 else f'beam {beam}'} decode, {weights} weights",
                    "fwd",
                    sentence_config,
                    sentence,
                    items=1,
                    items_unit="sentences",
                    **_decode_costs(sentence_config, sentence, beam, saved_bytes),
                ),
                partial(reduced_decode_impls, sentence_config, sentence, beam, weights, device),
            )


# ---------------------------------------------------------------- inputs


def _random_batch(config, batch_size, src_len, tgt_len):
    """A Batch of sentences of random words, all of full length (count_flops
    assumes no padding): sources of src_len tokens, targets of tgt_len - 1
    words between <sos> and <eos>, so that the decoder runs tgt_len steps."""
    generator = torch.Generator().manual_seed(0)

    def words(count, vocab_size):
        return torch.randint(
            len(SPECIAL_TOKENS), vocab_size, (count,), generator=generator
        ).tolist()

    return collate(
        [
            (words(src_len, config.src_vocab_size), words(tgt_len - 1, config.tgt_vocab_size))
            for _ in range(batch_size)
        ]
    )


def _reverse_words():
    """(config, batch) of examples/reverse_words.py --quick: its model (GRU,
    Bahdanau, embedding 64, hidden 128) and a batch of 64 of its sentences, 3 to
    10 words from 30 (of mixed lengths, padded to the longest)."""
    pairs = reverse_words_pairs(64, min_words=3, max_words=10, words=30)
    src_vocab = Vocab.build(source for source, _ in pairs)
    tgt_vocab = Vocab.build(target for _, target in pairs)
    batch = next(iter(make_loader(pairs, src_vocab, tgt_vocab, batch_size=64, shuffle=False)))
    config = Seq2SeqConfig(
        len(src_vocab), len(tgt_vocab), embedding_size=64, hidden_size=128, cell="gru"
    )
    return config, batch


def _params(label, mode, config, batch, **fields):
    B, S = batch.src.shape
    T = batch.tgt.shape[1] - 1  # decoder steps
    E, H, V = config.embedding_size, config.hidden_size, config.tgt_vocab_size
    return dict(
        label=label,
        shape=f"{_layers(config)} B={B} S={S} T={T} E={E} H={H} V={V}",
        mode=mode,
        cell=config.cell,
        B=B,
        S=S,
        T=T,
        E=E,
        H=H,
        V=V,
        dtype="float32",
        **fields,
    )


def _layers(config):
    """e.g. "GRU", or "2-layer bidirectional GRU"."""
    layers = f"{config.num_layers}-layer " if config.num_layers > 1 else ""
    return f"{layers}{'bidirectional ' if config.bidirectional else ''}{config.cell.upper()}"


# ----------------------------------------------------------------- costs


def _flops(config, batch_size, src_len, tgt_len, backward=False):
    return count_flops(config, src_len, tgt_len, batch_size, backward)["total"]


def _bytes(parameters, float_shapes, int64_count):
    """Bytes of the parameters, of float32 tensors of these shapes, and of int64 token ids."""
    return element_bytes(torch.float32, (parameters,), *float_shapes) + 8 * int64_count


def _costs(flops, forward_bytes, mode):
    return dict(
        flops=flops, bytes=forward_bytes * (FORWARD_BACKWARD_FACTOR if mode == "fwd+bwd" else 1)
    )


def _encoder_costs(config, batch):
    """The encoder's and the bridge's FLOPs; bytes: their parameters and the
    source embedding, the source tokens, the outputs and the final states."""
    (B, S), H = batch.src.shape, config.hidden_size
    flops = count_flops(config, S, 0, B)
    counts = count_parameters(config)
    parameters = counts["embedding_src"] + counts["encoder"] + counts["bridge"]
    states = (2 if config.cell == "lstm" else 1) * config.num_layers
    outputs = [(B, S, config.encoder_output_size), (states, B, H)]
    return _costs(
        flops["encoder"] + flops["bridge"], _bytes(parameters, outputs, B * (S + 1)), "fwd"
    )


def _step_costs(config, batch, mode):
    """One step's FLOPs: those of a pass of one step, less those of a pass of
    none (the encoder and the keys' projection, done once). Bytes: the
    decoder's parameters, the memory (values and projected keys), the state in
    and out, the token and the logits."""
    (B, S), H = batch.src.shape, config.hidden_size
    backward = mode == "fwd+bwd"
    flops = _flops(config, B, S, 1, backward) - _flops(config, B, S, 0, backward)
    counts = count_parameters(config)
    decoder = counts["total"] - counts["embedding_src"] - counts["encoder"] - counts["bridge"]
    states = 2 if config.cell == "lstm" else 1
    memory = [(B, S, config.encoder_output_size), (B, S, config.attn_size)]
    return _costs(
        flops, _bytes(decoder, memory + [(2 * states, B, H), (B, config.tgt_vocab_size)], B), mode
    )


def _pass_costs(config, batch, mode):
    """Bytes: the parameters, the source and target tokens and the logits."""
    (B, S), T = batch.src.shape, batch.tgt.shape[1] - 1
    flops = _flops(config, B, S, T, backward=mode == "fwd+bwd")
    parameters = count_parameters(config)["total"]
    return _costs(flops, _bytes(parameters, [(B, T, config.tgt_vocab_size)], B * (S + T + 1)), mode)


def _training_costs(config, batch):
    """The pass's forward+backward, and Adam's update (its FLOPs not counted)."""
    costs = _pass_costs(config, batch, "fwd+bwd")
    costs["bytes"] += element_bytes(
        torch.float32, (ADAM_ACCESSES * count_parameters(config)["total"],)
    )
    return costs


def _decode_costs(config, batch, beam, saved_bytes=0):
    """The encoder once per sentence, then T steps for each of the beam's rows.
    Bytes: the parameters (float32, less the `saved_bytes` of reduced ones),
    the source, and the output tokens and attention weights."""
    (B, S), T = batch.src.shape, batch.tgt.shape[1] - 1
    flops = (
        _flops(config, B, S, 0) + _flops(config, B * beam, S, T) - _flops(config, B * beam, S, 0)
    )
    parameters = count_parameters(config)["total"]
    forward_bytes = _bytes(parameters, [(B, T, S)], B * (S + T)) - saved_bytes
    return _costs(flops, forward_bytes, "fwd")


def _saved_bytes(config, weights):
    """The bytes for_inference(weights) saves on the decoder's matrices (int8
    adds a float32 scale per row)."""
    decoder = Seq2Seq(config).decoder
    saved = 0
    for _, matrix, reducible in decoder.decoding_weights():
        if reducible:
            saved += matrix.numel() * (2 if weights == "bfloat16" else 3) - (
                4 * matrix.shape[0] if weights == "int8" else 0
            )
    return saved
