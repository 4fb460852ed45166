"""Run by test_train.py under torchrun: `python -m seq2seq_ext train ARGS`, with
each process recording the batches its sampler gave and saving, after
training, its weights and those batches to OUT/rank<r>.pt."""

import sys
from pathlib import Path

import torch

from seq2seq_ext.nmt import cli, distributed
from seq2seq_ext.nmt.data import BucketBatchSampler
from seq2seq_ext.nmt.trainer import Trainer

seen = []  # (epoch, batch of example indices), in the order the sampler gave them
sampler_iter = BucketBatchSampler.__iter__


def recording_iter(self):
    for batch in sampler_iter(self):
        if self.shuffle:  # the training loader's sampler, not the validation one
            seen.append((self.epoch, batch))
        yield batch


fit = Trainer.fit


def fit_and_save(self, resume=True):
    history = fit(self, resume)
    state = {"weights": self.model.state_dict(), "batches": seen}
    torch.save(state, Path(self.out_dir) / f"rank{distributed.rank()}.pt")
    return history


BucketBatchSampler.__iter__ = recording_iter
Trainer.fit = fit_and_save
cli.main(sys.argv[1:])
