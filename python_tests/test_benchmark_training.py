"""The training suite of the benchmarks (benchmarks/cases_training.py): its
corpus has the statistics it claims, and each case times an epoch of the
Trainer, the fused model on the fused loss op, its peer on torch.nn."""

import collections

import torch

from benchmarks import cases_training
from seq2seq_ext.nmt.data import Vocab, make_loader


def test_the_corpus_is_zipfian_with_sentences_of_5_to_30_pieces():
    corpus = cases_training.zipf_corpus(2000)
    assert corpus == cases_training.zipf_corpus(2000)  # the same every time
    for source, target in corpus:
        assert 5 <= len(source) <= 30 and 5 <= len(target) <= 30
        assert 0.8 * len(source) - 0.5 <= len(target) <= 1.25 * len(source) + 0.5 or len(
            target
        ) in (5, 30)
    counts = collections.Counter(piece for source, _ in corpus for piece in source)
    assert len(counts) > 2500  # thousands of pieces
    # Zipf: the r-th most frequent piece about 1/r as frequent as the first.
    ranked = [count for _, count in counts.most_common()]
    assert 0.35 < ranked[1] / ranked[0] < 0.65 and 0.05 < ranked[9] / ranked[0] < 0.15


def test_a_case_times_an_epoch_of_each_backend(monkeypatch):
    monkeypatch.setitem(cases_training.PAIRS, "quick", 64)
    cases = list(cases_training.cases("cpu", quick=True))
    assert [params["label"] for params, _ in cases] == [
        "training epoch",
        "training epoch, input feeding",
    ]
    params, make_impls = cases[0]
    corpus = cases_training.zipf_corpus(64)
    vocabs = [Vocab.build(side for side in sides) for sides in zip(*corpus)]
    loader = make_loader(corpus, *vocabs, batch_size=64, seed=0)
    assert params["items"] == sum(int((b.tgt[:, 1:] != 0).sum()) for b in loader)
    assert params["V"] == len(vocabs[1]) and params["B"] == 64

    calls = []
    original = torch.ops.seq2seq_ext.output_cross_entropy

    class Spy:
        def __call__(self, *args):
            calls.append(int((args[3] != 0).sum()))
            return original(*args)

    monkeypatch.setattr(torch.ops.seq2seq_ext, "output_cross_entropy", Spy())
    impls = make_impls()
    assert set(impls) == {"fused", "torch.nn"}
    impls["torch.nn"]()
    assert calls == []  # torch's cross-entropy
    impls["fused"]()
    assert sum(calls) == params["items"]  # every target token, once, through the fused op
