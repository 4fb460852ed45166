"""From token pairs to padded batches: a dataset of index lists, a collate
function, a sampler that batches sentences of similar length, and
``make_loader`` that puts them together::

    loader = make_loader(pairs, src_vocab, tgt_vocab, batch_size=64, seed=0)
    for epoch in range(epochs):
        loader.batch_sampler.set_epoch(epoch)
        for batch in loader:
            batch = batch.to(device)     # batch.src, batch.src_lengths, batch.tgt, ...
"""

import logging
import math
from dataclasses import dataclass
from functools import partial
from typing import Optional, Sequence

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler

from .vocab import EOS_INDEX, PAD_INDEX, SOS_INDEX, Vocab

logger = logging.getLogger(__name__)

ON_TOO_LONG = ("drop", "truncate", "error")


@dataclass(frozen=True)
class Batch:
    """A padded batch. ``src`` holds the source indices as encoded (ending in
    ``<eos>``); ``tgt`` is ``[<sos>, y..., <eos>, <pad>...]``, so a decoder
    reads ``tgt[:, :-1]`` and predicts ``tgt[:, 1:]``. Lengths count the
    non-pad positions; ``src_mask`` is True at real source tokens."""

    src: Tensor  # (B, S) int64
    src_lengths: Tensor  # (B,) int64
    tgt: Tensor  # (B, T) int64
    tgt_lengths: Tensor  # (B,) int64
    src_mask: Tensor  # (B, S) bool

    def to(self, device, non_blocking: bool = False) -> "Batch":
        return Batch(
            *(
                t.to(device, non_blocking=non_blocking)
                for t in (self.src, self.src_lengths, self.tgt, self.tgt_lengths, self.src_mask)
            )
        )


def pad_sequences(sequences: list[list[int]], pad_index: int) -> tuple[Tensor, Tensor]:
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.int64)
    width = max((len(s) for s in sequences), default=0)
    padded = torch.full((len(sequences), width), pad_index, dtype=torch.int64)
    for row, sequence in enumerate(sequences):
        padded[row, : len(sequence)] = torch.tensor(sequence, dtype=torch.int64)
    return padded, lengths


def collate(batch: Sequence[tuple[list[int], list[int]]], pad_index: int = PAD_INDEX) -> Batch:
    """Pad a list of ``(src_ids, tgt_ids)`` into a ``Batch``; ``tgt_ids`` are
    the target's indices without ``<sos>``/``<eos>``, which are added here."""
    sources = [list(src) for src, _ in batch]
    targets = [[SOS_INDEX, *tgt, EOS_INDEX] for _, tgt in batch]
    src, src_lengths = pad_sequences(sources, pad_index)
    tgt, tgt_lengths = pad_sequences(targets, pad_index)
    src_mask = torch.arange(src.shape[1]) < src_lengths[:, None]
    return Batch(src, src_lengths, tgt, tgt_lengths, src_mask)


class Seq2SeqDataset(Dataset):
    """``(src_ids, tgt_ids)`` pairs of index lists (see ``collate``).

    ``from_pairs`` encodes token pairs and records what it left out or cut in
    ``skipped_empty``, ``skipped_too_long`` and ``truncated``.
    """

    def __init__(
        self,
        examples: Sequence[tuple[list[int], list[int]]],
        skipped_empty: int = 0,
        skipped_too_long: int = 0,
        truncated: int = 0,
    ) -> None:
        self.examples = list(examples)
        self.skipped_empty, self.skipped_too_long = skipped_empty, skipped_too_long
        self.truncated = truncated

    @classmethod
    def from_pairs(
        cls,
        pairs: Sequence[tuple[Sequence[str], Sequence[str]]],
        src_vocab: Vocab,
        tgt_vocab: Vocab,
        max_len: Optional[int] = None,
        on_too_long: str = "drop",
    ) -> "Seq2SeqDataset":
        """Encode ``(source_tokens, target_tokens)`` pairs: the source with a
        final ``<eos>``, the target without markers.

        A pair with an empty source is skipped (there is nothing for the
        encoder to read; an empty target is fine). ``max_len`` limits the
        tokens of each side, markers not counted; a longer pair is dropped,
        truncated to ``max_len`` tokens, or raises ValueError, as
        ``on_too_long`` says.
        """
        if on_too_long not in ON_TOO_LONG:
            raise ValueError(f"on_too_long must be one of {ON_TOO_LONG}, got {on_too_long!r}")
        if max_len is not None and max_len < 1:
            raise ValueError(f"max_len must be >= 1, got {max_len}")
        examples, skipped_empty, skipped_too_long, truncated = [], 0, 0, 0
        for index, (source, target) in enumerate(pairs):
            if len(source) == 0:
                skipped_empty += 1
                continue
            if max_len is not None and max(len(source), len(target)) > max_len:
                if on_too_long == "error":
                    raise ValueError(
                        f"pair {index} is longer than max_len={max_len} tokens "
                        f"(source {len(source)}, target {len(target)}); pass "
                        f"on_too_long='drop' or 'truncate', or a larger max_len"
                    )
                if on_too_long == "drop":
                    skipped_too_long += 1
                    continue
                source, target = source[:max_len], target[:max_len]
                truncated += 1
            examples.append((src_vocab.encode(source), tgt_vocab.encode(target, add_eos=False)))
        if skipped_empty or skipped_too_long or truncated:
            logger.warning(
                "Seq2SeqDataset: skipped %d pairs with an empty source and %d longer "
                "than max_len; truncated %d",
                skipped_empty,
                skipped_too_long,
                truncated,
            )
        return cls(examples, skipped_empty, skipped_too_long, truncated)

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> tuple[list[int], list[int]]:
        return self.examples[index]


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of indices whose ``lengths`` are close, so little padding is
    needed.

    Each epoch: shuffle the indices (if ``shuffle``), cut them into chunks of
    ``chunk_size`` (default ``100 * batch_size``), sort each chunk by length,
    cut it into batches, and shuffle the order of the batches. The shuffles
    use ``seed + epoch``; call ``set_epoch`` before each epoch (as with
    ``DistributedSampler``) to get a new, reproducible order.

    With ``num_replicas > 1`` (one per DDP process) rank r takes batches
    r, r + num_replicas, ...; all ranks must use the same seed. Every rank
    gets the same number of batches, as DDP needs: the last batches are
    dropped (``drop_last``) or the first ones repeated to fill up, as
    ``DistributedSampler`` does with samples. ``drop_last`` also drops the
    batches shorter than ``batch_size``.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        num_replicas: int = 1,
        rank: int = 0,
        chunk_size: Optional[int] = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if not 0 <= rank < num_replicas:
            raise ValueError(
                f"need 0 <= rank < num_replicas, got rank={rank}, num_replicas={num_replicas}"
            )
        self.lengths = list(lengths)
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.seed = seed
        self.num_replicas, self.rank = num_replicas, rank
        self.chunk_size = chunk_size or 100 * batch_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _all_batches(self) -> list[list[int]]:
        """This epoch's batches over all ranks."""
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        n = len(self.lengths)
        order = torch.randperm(n, generator=generator).tolist() if self.shuffle else range(n)
        batches = []
        for start in range(0, n, self.chunk_size):
            chunk = sorted(order[start : start + self.chunk_size], key=self.lengths.__getitem__)
            batches += [
                chunk[i : i + self.batch_size] for i in range(0, len(chunk), self.batch_size)
            ]
        if self.drop_last:
            batches = [b for b in batches if len(b) == self.batch_size]
        if self.shuffle:
            permutation = torch.randperm(len(batches), generator=generator).tolist()
            batches = [batches[i] for i in permutation]
        return batches

    def _num_batches(self) -> int:
        """The number of batches of one epoch over all ranks (before sharding)."""
        n, chunk = len(self.lengths), self.chunk_size
        chunks = [min(chunk, n - start) for start in range(0, n, chunk)]
        if self.drop_last:
            return sum(size // self.batch_size for size in chunks)
        return sum(math.ceil(size / self.batch_size) for size in chunks)

    def __len__(self) -> int:
        if self.drop_last:
            return self._num_batches() // self.num_replicas
        return math.ceil(self._num_batches() / self.num_replicas)

    def __iter__(self):
        batches = self._all_batches()
        total = len(self) * self.num_replicas
        if batches and total > len(batches):
            batches += (batches * math.ceil(total / len(batches)))[: total - len(batches)]
        return iter(batches[self.rank : total : self.num_replicas])


def make_loader(
    pairs: Sequence[tuple[Sequence[str], Sequence[str]]],
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    batch_size: int,
    shuffle: bool = True,
    seed: int = 0,
    max_len: Optional[int] = None,
    on_too_long: str = "drop",
    drop_last: bool = False,
    num_replicas: int = 1,
    rank: int = 0,
    num_workers: int = 0,
) -> DataLoader:
    """A DataLoader of ``Batch``es over token pairs, bucketed by source length
    (see ``Seq2SeqDataset.from_pairs`` and ``BucketBatchSampler``). Call
    ``loader.batch_sampler.set_epoch(epoch)`` each epoch to reshuffle."""
    dataset = Seq2SeqDataset.from_pairs(pairs, src_vocab, tgt_vocab, max_len, on_too_long)
    sampler = BucketBatchSampler(
        [len(src) for src, _ in dataset.examples],
        batch_size,
        shuffle=shuffle,
        seed=seed,
        drop_last=drop_last,
        num_replicas=num_replicas,
        rank=rank,
    )
    return DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=num_workers,
        collate_fn=partial(collate, pad_index=PAD_INDEX),
    )
