"""Model cases: the Seq2Seq model on this package's kernels (backend "fused")
against the same model on torch.nn's layers and the pure-PyTorch attention
(backend "torch", loaded with the same state_dict), and against torch.compile
of the fused model (Dynamo does not trace torch.nn's RNNs; on CUDA also with
mode="reduce-overhead"):

- one decoder step (``decoder.step`` on a precomputed memory) and the
  teacher-forced pass (the whole forward), forward and forward+backward, at
  the reverse-words task's size (GRU) and, in full runs, at a large one (LSTM, 8000 words);
- one training step of the model examples/reverse_words.py --quick trains
  (forward, masked cross-entropy, backward, clipping at 1.0, Adam), in tokens/s,
  and of the same model with input feeding (its decoder runs step by step:
  the fused model's loop in C++, the op decoder_stepwise_pass, and one more
  peer, the same model's loop in Python, ``use_ops=False``);
- greedy and beam-search (beam 4) decoding of those 64 sentences and, in full
  runs, of 64 at the large size, in sentences/s; the fused model decodes with
  its loop in C++ (the decoding ops), and has one more peer, the same model
  decoding with the loop in Python (``use_ops=False``);
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
"""

import copy
import dataclasses
from functools import partial

import torch
from torch import nn

from seq2seq_ext.flops import count_flops, count_parameters
from seq2seq_ext.models import Seq2Seq, Seq2SeqConfig
from seq2seq_ext.nmt.data import (
    EOS_INDEX,
    SPECIAL_TOKENS,
    Vocab,
    collate,
    make_loader,
    reverse_words_pairs,
)
from seq2seq_ext.nmt.train import masked_cross_entropy

from . import OURS
from .calls import timed_call
from .costs import FORWARD_BACKWARD_FACTOR, element_bytes
from .peers import compiled_peers

SUITE = "models"
TIMING = {"quick": dict(warmup=2, repeats=5), "full": dict(warmup=2, repeats=7)}
COMPILED = f"torch.compile({OURS})"
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
QUANTIZED = "quantize_dynamic(torch.nn)"
REDUCED_WEIGHTS = ("bfloat16", "int8")  # the one sentence's for_inference copies
FLOAT32_WEIGHTS = f"{OURS}, float32 weights"  # their peer: the model they copy
PYTHON_LOOP = f"{OURS}, Python loop"
LEARNING_RATE = 3e-3  # python -m seq2seq_ext train's default, as the example uses
CLIP = 1.0
ADAM_ACCESSES = (
    7  # per parameter: reads it, its gradient and two moments; writes it and the moments
)


def cases(device, quick):
    """Yields (params, make_impls), as benchmarks.run expects."""
    sized = [
        (config, _random_batch(config, *shape))
        for config, *shape in (SIZES[:1] if quick else SIZES)
    ]
    for config, batch in sized:
        for mode in ("fwd", "fwd+bwd"):
            yield (
                _params("decoder step", mode, config, batch, **_step_costs(config, batch, mode)),
                partial(_step_impls, config, batch, mode, device),
            )
        for mode in ("fwd", "fwd+bwd"):
            yield (
                _params(
                    "teacher-forced pass", mode, config, batch, **_pass_costs(config, batch, mode)
                ),
                partial(_pass_impls, config, batch, mode, device),
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
            partial(_training_impls, config, words_batch, device),
        )
    decodes = [(words_config, words_batch, BEAM)] + [(c, b, BEAM) for c, b in sized[1:]]
    sentence_config, *sentence_shape = SENTENCE
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
                partial(_decode_impls, config, batch, beam, device),
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
                partial(_reduced_decode_impls, sentence_config, sentence, beam, weights, device),
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


# -------------------------------------------------------- implementations


def _build(config, device, backend=OURS, weights=None):
    model = Seq2Seq(dataclasses.replace(config, backend=backend)).to(device)
    if weights is not None:
        model.load_state_dict(weights)
    return model


def _models(config, device):
    """{"fused": a model, "torch.nn": the same model, weights and all, on torch.nn}."""
    torch.manual_seed(0)
    fused = _build(config, device)
    return {OURS: fused, "torch.nn": _build(config, device, "torch", fused.state_dict())}


def _runs(models, make_fn, device):
    """{name: (fn, the model it runs)}: make_fn(model) for each model, and the
    torch.compile peers of make_fn(fused model)."""
    runs = {name: (make_fn(model), model) for name, model in models.items()}
    for name, compiled in compiled_peers(COMPILED, make_fn(models[OURS]), device).items():
        runs[name] = (compiled, models[OURS])
    return runs


def _step_impls(config, batch, mode, device):
    models = _models(config, device)
    batch = batch.to(device)
    with torch.no_grad():
        memory, state = models[OURS].encode(batch.src, batch.src_lengths)
    # With the backward, gradients flow into the memory and the state too, as in training.
    leaves = [memory.values, memory.keys_proj, *(state if isinstance(state, tuple) else [state])]
    for leaf in leaves:
        leaf.requires_grad_(mode == "fwd+bwd")
    runs = _runs(models, lambda model: partial(_decoder_step, model.decoder), device)
    return _timed(runs, (batch.tgt[:, 0], state, memory), mode, leaves)


def _decoder_step(decoder, token, state, memory):
    """The logits of one decoder step."""
    return decoder.step(token, state, memory)[0]


def _pass_impls(config, batch, mode, device):
    batch = batch.to(device)
    runs = _runs(_models(config, device), lambda model: model, device)
    return _timed(runs, (batch.src, batch.src_lengths, batch.tgt), mode)


def _timed(runs, args, mode, leaves=()):
    """{name: the call to time} of runs {name: (fn returning logits, its model)};
    with the backward, gradients flow into the model and `leaves`."""
    return {
        name: timed_call(mode, partial(fn, *args), [*model.parameters(), *leaves])
        for name, (fn, model) in runs.items()
    }


def _training_impls(config, batch, device):
    """Each implementation trains its own copy of the model, with its own Adam.
    With input feeding, the fused model's Python loop over the decoder's steps
    is one more peer of its C++ loop (the op decoder_stepwise_pass)."""
    models = _models(config, device)
    batch = batch.to(device)
    steps = {
        name: partial(_training_step, model, model, _adam(model), batch)
        for name, model in models.items()
    }
    if config.input_feeding:
        looped = _build(config, device, weights=models[OURS].state_dict())
        forward = partial(looped, use_ops=False)
        steps[PYTHON_LOOP] = partial(_training_step, forward, looped, _adam(looped), batch)
    compiled_model = _build(config, device, weights=models[OURS].state_dict())
    optimizer = _adam(compiled_model)
    for name, forward in compiled_peers(COMPILED, compiled_model, device).items():
        steps[name] = partial(_training_step, forward, compiled_model, optimizer, batch)
    return steps


def _adam(model):
    return torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)


def _training_step(forward, model, optimizer, batch):
    """What seq2seq_ext.nmt.train.Trainer does with a batch (float32, teacher forcing)."""
    logits = forward(batch.src, batch.src_lengths, batch.tgt)
    loss, count = masked_cross_entropy(logits, batch.tgt[:, 1:], model.config.pad_index)
    (loss / count).backward()
    nn.utils.clip_grad_norm_(model.parameters(), CLIP)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)  # each call starts with no gradients allocated


def _decode_impls(config, batch, beam, device):
    models = _models(config, device)
    for model in models.values():
        _never_end(model)
    batch = batch.to(device)
    runs = _runs(models, lambda model: partial(_decode, model, beam), device)
    runs[PYTHON_LOOP] = (partial(_decode, models[OURS], beam, use_ops=False), models[OURS])
    if batch.src.shape[0] == 1 and torch.device(device).type == "cpu":
        quantized = _quantized(models["torch.nn"])
        runs[QUANTIZED] = (partial(_decode, quantized, beam), quantized)
    return _timed(runs, (batch.src, batch.src_lengths, batch.tgt.shape[1] - 1), "fwd")


def _reduced_decode_impls(config, batch, beam, weights, device):
    """Ours: the fused model's for_inference(weights) copy; peers: the model
    itself (float32), on torch.nn, and quantize_dynamic of that."""
    models = _models(config, device)
    for model in models.values():
        _never_end(model)
    reduced = models[OURS].for_inference(weights)
    quantized = _quantized(models["torch.nn"])
    runs = {
        OURS: (partial(_decode, reduced, beam), reduced),
        FLOAT32_WEIGHTS: (partial(_decode, models[OURS], beam), models[OURS]),
        "torch.nn": (partial(_decode, models["torch.nn"], beam), models["torch.nn"]),
        QUANTIZED: (partial(_decode, quantized, beam), quantized),
    }
    return _timed(runs, (batch.src, batch.src_lengths, batch.tgt.shape[1] - 1), "fwd")


def _quantized(model):
    """`model` (backend "torch") with int8 weights in its Linear, GRU and LSTM
    layers, activations quantized on the fly (a copy: `model` is unchanged)."""
    return torch.ao.quantization.quantize_dynamic(
        copy.deepcopy(model), {nn.Linear, nn.GRU, nn.LSTM}, dtype=torch.qint8
    )


def _never_end(model):
    """Makes <eos> never a likely token, so that every decode of random weights
    runs its max_len steps (T: as many as a trained model's for the longest
    sentence of the batch)."""
    with torch.no_grad():
        model.decoder.output.bias[EOS_INDEX] = float("-inf")


def _decode(model, beam, src, src_lengths, max_len, use_ops=None):
    if beam == 1:
        return model.greedy_decode(src, src_lengths, max_len, use_ops=use_ops)
    return model.beam_search(src, src_lengths, beam, max_len, use_ops=use_ops)
