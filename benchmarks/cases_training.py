"""Training cases: one epoch of seq2seq_ext.nmt.trainer.Trainer (its batches
from make_loader, the loss, the backward, clipping, Adam) on a corpus the
size of a real one, the model on this package's kernels ("fused") against
the same model, weights and all, on torch.nn's layers and torch's
cross-entropy ("torch.nn"), each with its own Adam, in tokens/s.

The corpus is synthetic, with the statistics of a subword-tokenized parallel
corpus: a vocabulary of VOCAB pieces per side drawn Zipf-like (the r-th most
frequent piece with a frequency ~ 1/r), source sentences of 5 to 30 pieces,
each target 0.8 to 1.25 times its source's length (within 5 to 30). The
model is that of configs/own_data.yaml (bidirectional GRU, hidden 256,
Bahdanau attention, dropout 0.1) and its other training settings, in batches
of 64 pairs, with and without input feeding; float32, the run's threads.
"""

import dataclasses
import random
from functools import partial

import torch

from seq2seq_ext.flops import count_flops, count_parameters
from seq2seq_ext.models import Seq2Seq
from seq2seq_ext.nmt import RunConfig, load_config
from seq2seq_ext.nmt.data import Vocab, make_loader
from seq2seq_ext.nmt.trainer import TrainConfig, Trainer

from . import OURS
from .cases_models import ADAM_ACCESSES, _layers
from .costs import FORWARD_BACKWARD_FACTOR, element_bytes

SUITE = "training"
# An epoch takes seconds: few calls (the first one warms up).
TIMING = {"quick": dict(warmup=1, repeats=3), "full": dict(warmup=1, repeats=3)}
VOCAB = 4000  # pieces per side
LENGTHS = (5, 30)  # pieces per sentence
PAIRS = {"quick": 320, "full": 3200}  # sentence pairs of an epoch
MODEL_FILE = "configs/own_data.yaml"
BATCH_SIZE = 64


def zipf_corpus(pairs: int, vocab: int = VOCAB, lengths=LENGTHS, seed: int = 0) -> list:
    """`pairs` (source pieces, target pieces), as described above."""
    rng = random.Random(seed)
    ranks = range(vocab)
    weights = [1 / (rank + 1) for rank in ranks]
    low, high = lengths

    def sentence(side: str, length: int) -> list:
        return [f"{side}{rank}" for rank in rng.choices(ranks, weights, k=length)]

    corpus = []
    for _ in range(pairs):
        length = rng.randint(low, high)
        target_length = min(high, max(low, round(length * rng.uniform(0.8, 1.25))))
        corpus.append((sentence("s", length), sentence("t", target_length)))
    return corpus


def run_config() -> RunConfig:
    """The walkthrough's run config, in batches of BATCH_SIZE."""
    return load_config(MODEL_FILE, {"batch-size": BATCH_SIZE})


def cases(device, quick):
    """Yields (params, make_impls), as benchmarks.run expects."""
    corpus = zipf_corpus(PAIRS["quick" if quick else "full"])
    src_vocab = Vocab.build(source for source, _ in corpus)
    tgt_vocab = Vocab.build(target for _, target in corpus)
    cfg = run_config()
    loader = make_loader(corpus, src_vocab, tgt_vocab, cfg.train.batch_size, seed=0)
    batches = list(loader)  # their sizes, for the costs
    tokens = sum(int((batch.tgt[:, 1:] != 0).sum()) for batch in batches)
    for feeding in (False, True):
        config = dataclasses.replace(
            cfg.model_for(len(src_vocab), len(tgt_vocab)), input_feeding=feeding
        )
        label = "training epoch" + (", input feeding" if feeding else "")
        E, H, V = config.embedding_size, config.hidden_size, config.tgt_vocab_size
        yield (
            dict(
                label=label,
                shape=f"{_layers(config)} B={cfg.train.batch_size} S,T={LENGTHS[0]}-{LENGTHS[1]}"
                f" E={E} H={H} V={V} pairs={len(corpus)}",
                mode="fwd+bwd",
                cell=config.cell,
                B=cfg.train.batch_size,
                E=E,
                H=H,
                V=V,
                dtype="float32",
                items=tokens,
                items_unit="tokens",
                **_epoch_costs(config, batches),
            ),
            partial(epoch_impls, config, cfg.train, loader, device),
        )


def epoch_impls(config, train_config: TrainConfig, loader, device):
    """{fused: an epoch, torch.nn: an epoch}: each a Trainer of its own
    model (the same initial weights) and Adam, one epoch per call."""
    torch.manual_seed(0)
    fused = Seq2Seq(dataclasses.replace(config, backend=OURS))
    peer = Seq2Seq(dataclasses.replace(config, backend="torch"))
    peer.load_state_dict(fused.state_dict())
    settings = dataclasses.replace(  # an epoch's training only: no validation
        train_config, progress=False, tensorboard=False, early_stopping_metric="loss"
    )
    return {
        name: partial(_epoch, Trainer(model, loader, loader, settings, "unused", device))
        for name, model in ((OURS, fused), ("torch.nn", peer))
    }


def _epoch(trainer: Trainer):
    trainer.train_epoch(0)  # the same batch order each call


def _epoch_costs(config, batches):
    """Each batch's forward+backward (count_flops of the padded batch) and
    bytes as cases_models counts a training step's: the parameters, the
    tokens and logits, three times, and Adam's accesses of the parameters."""
    parameters = count_parameters(config)["total"]
    flops = bytes_ = 0
    for batch in batches:
        (B, S), T = batch.src.shape, batch.tgt.shape[1] - 1
        flops += count_flops(config, S, T, B, backward=True)["total"]
        forward = element_bytes(torch.float32, (parameters,), (B, T, config.tgt_vocab_size))
        bytes_ += FORWARD_BACKWARD_FACTOR * (forward + 8 * B * (S + T + 1))
        bytes_ += element_bytes(torch.float32, (ADAM_ACCESSES * parameters,))
    return dict(flops=flops, bytes=bytes_)
