"""Training: masked cross-entropy, Adam, gradient clipping, a teacher-forcing
schedule, AMP, the best checkpoint by a validation metric and early stopping,
exact resume, CSV/JSON logs, learning curves and TensorBoard, and
DistributedDataParallel when run under torchrun.

    trainer = Trainer(model, train_loader, valid_loader, TrainConfig(epochs=10), out_dir)
    history = trainer.fit()             # resumes from out_dir/last.pt if it exists

A resumed run reproduces the uninterrupted one: the last checkpoint holds the
model, the optimizer, the AMP scaler, the RNG states and the history, and the
batch order of an epoch depends only on the sampler's seed and the epoch.
"""

import csv
import json
import math
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm import tqdm

from ..checkpoint import (
    CheckpointError,
    load_checkpoint,
    rng_states,
    save_checkpoint,
    set_rng_states,
)
from ..models import Seq2Seq, Seq2SeqConfig
from . import distributed
from .metrics import count_correct_tokens

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
LR_SCHEDULES = ("constant", "cosine")
# The validation metric that picks the best checkpoint and stops early: the
# teacher-forced loss (lower is better), or a score of the decoded validation
# sentences (higher is better; the Trainer needs a `validator` for those).
EARLY_STOPPING_METRICS = ("loss", "bleu", "exact_match")


def masked_cross_entropy(logits: Tensor, targets: Tensor, pad_index: int):
    """Summed cross-entropy over the non-PAD targets, and their number.
    logits (B, T, V), targets (B, T); half-type logits are summed in float32."""
    if logits.dtype in (torch.float16, torch.bfloat16):
        logits = logits.float()
    loss = F.cross_entropy(
        logits.flatten(0, 1), targets.flatten(), ignore_index=pad_index, reduction="sum"
    )
    return loss, int((targets != pad_index).sum())


def batch_loss(network, model: Seq2Seq, batch, teacher_forcing_ratio: float = 1.0):
    """The summed cross-entropy of a batch's targets and their number, as the
    Trainer computes it: `network` is `model` or its DistributedDataParallel
    wrapper. With teacher forcing throughout, the decoder's outputs go to the
    output layer and the loss in one (decoder.output_loss: on the fused
    backend, one op without the logits); scheduled sampling feeds the logits'
    argmax, so it computes them."""
    targets = batch.tgt[:, 1:]
    pad = model.config.pad_index
    if teacher_forcing_ratio < 1.0:
        logits = network(batch.src, batch.src_lengths, batch.tgt, teacher_forcing_ratio)
        return masked_cross_entropy(logits, targets, pad)
    outputs = network(batch.src, batch.src_lengths, batch.tgt, project=False)
    return model.decoder.output_loss(outputs, targets), int((targets != pad).sum())


def adam(model: nn.Module, lr: float) -> torch.optim.Adam:
    """The Trainer's optimizer: Adam, its fused implementation (one kernel
    for all parameters; CPU and CUDA)."""
    return torch.optim.Adam(model.parameters(), lr=lr, fused=True)


@dataclass
class TrainConfig:
    """How to train: the Trainer's settings, and the run config's train section
    (``seq2seq_ext.nmt.config.RunConfig``), whose defaults these are."""

    epochs: int = 20
    lr: float = 3e-3
    lr_schedule: str = "cosine"  # or "constant"; cosine anneals to lr * min_lr_ratio
    min_lr_ratio: float = 0.05
    batch_size: int = 64  # sentence pairs per training batch (the loader's)
    clip: float = 1.0  # max gradient norm; 0 = no clipping
    # the ratio at the first epoch and at the last, linearly in between (one
    # value: the same throughout)
    teacher_forcing: tuple[float, float] = (1.0, 1.0)
    amp: Optional[str] = None  # None, "bf16" or "fp16"
    seed: int = 0  # the run's: data generation and split, initial weights, batch order
    early_stopping_metric: str = "loss"  # one of EARLY_STOPPING_METRICS
    patience: Optional[int] = None  # stop after this many epochs without a better metric
    tensorboard: bool = False  # scalars and an attention map per epoch in out_dir/tensorboard
    progress: bool = True  # a tqdm bar per epoch (rank 0)
    stop_after_epoch: Optional[int] = None  # end the run early, as an interruption would

    def __post_init__(self):
        ratios = self.teacher_forcing
        ratios = tuple(ratios) if isinstance(ratios, (list, tuple)) else (ratios,)
        if len(ratios) not in (1, 2):
            raise ValueError(f"teacher_forcing takes one or two ratios, got {len(ratios)}")
        self.teacher_forcing = tuple(float(r) for r in (ratios * 2)[:2])
        if self.amp not in (None, *AMP_DTYPES):
            raise ValueError(f"amp must be None or one of {tuple(AMP_DTYPES)}, got {self.amp!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        if self.early_stopping_metric not in EARLY_STOPPING_METRICS:
            raise ValueError(
                f"early_stopping_metric must be one of {EARLY_STOPPING_METRICS}, "
                f"got {self.early_stopping_metric!r}"
            )

    def score(self, record: dict) -> tuple:
        """How good an epoch's record is by the early-stopping metric (higher is
        better; ties go to the lower validation loss)."""
        if self.early_stopping_metric == "loss":
            return (-record["valid_loss"],)
        return (record[f"valid_{self.early_stopping_metric}"], -record["valid_loss"])

    def lr_factor(self, epoch: int) -> float:
        """The learning rate of `epoch` over config.lr: 1 throughout, or a cosine
        from 1 at the first epoch to min_lr_ratio at the last."""
        if self.lr_schedule == "constant" or self.epochs <= 1:
            return 1.0
        cosine = 0.5 * (1 + math.cos(math.pi * epoch / (self.epochs - 1)))
        return self.min_lr_ratio + (1 - self.min_lr_ratio) * cosine

    def teacher_forcing_ratio(self, epoch: int) -> float:
        start, end = self.teacher_forcing
        if self.epochs <= 1:
            return start
        return start + epoch / (self.epochs - 1) * (end - start)


class Trainer:
    """Trains `model` (a Seq2Seq) on batches with .src, .src_lengths, .tgt and
    .to(device), writing into `out_dir`: best.pt (best by the early-stopping
    metric), last.pt (for resuming), history.csv / history.json,
    learning_curves.png and, with config.tensorboard, tensorboard/.

    `validator(model)`, if given, decodes the validation sentences after each
    epoch and returns their scores (valid_bleu, valid_exact_match, ...; see
    translator.TranslationValidator), which join the epoch's record.
    Under torchrun (a process group initialised), the model is wrapped in
    DistributedDataParallel; only rank 0 writes files."""

    def __init__(
        self,
        model: Seq2Seq,
        train_loader,
        valid_loader,
        config: TrainConfig,
        out_dir,
        device="cpu",
        extra_state: Optional[dict] = None,
        validator: Optional[Callable[[Seq2Seq], dict]] = None,
    ) -> None:
        if config.early_stopping_metric != "loss" and validator is None:
            raise ValueError(
                f"early stopping on {config.early_stopping_metric} needs a validator "
                "that decodes the validation sentences"
            )
        self.model = model.to(device)
        self.config, self.device = config, torch.device(device)
        self.train_loader, self.valid_loader = train_loader, valid_loader
        self.out_dir = Path(out_dir)
        self.extra_state = extra_state or {}  # saved with every checkpoint (e.g. vocabularies)
        self.optimizer = adam(model, config.lr)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=config.amp == "fp16")
        self.network = (
            nn.parallel.DistributedDataParallel(model) if distributed.is_running() else model
        )
        self.validator = validator
        self.history: list = []
        self.start_epoch = 0

    # ------------------------------------------------------------ the loop
    def fit(self, resume: bool = True) -> list:
        torch.manual_seed(self.config.seed)
        if resume and (self.out_dir / "last.pt").exists():
            self.resume(self.out_dir / "last.pt")
        log = None
        if self.config.tensorboard and distributed.rank() == 0:
            from .tensorboard_log import TensorBoardLog

            log = TensorBoardLog(self.out_dir / "tensorboard")
        for epoch in range(self.start_epoch, self.config.epochs):
            if self.config.stop_after_epoch is not None and epoch > self.config.stop_after_epoch:
                break
            if self._patience_ran_out():
                break
            record = {"epoch": epoch, **self.train_epoch(epoch), **self.evaluate()}
            if self.validator is not None:
                record.update(self.validator(self.model))
            self.history.append(record)
            if distributed.rank() == 0:
                self._end_of_epoch(record)
                if log is not None:
                    log.epoch(record, getattr(self.validator, "attention_example", None))
            if distributed.is_running():
                dist.barrier()
        if log is not None:
            log.close()
        return self.history

    def best_record(self) -> dict:
        """The history's best epoch by the early-stopping metric (the first of equals)."""
        return max(self.history, key=self.config.score)

    def _patience_ran_out(self) -> bool:
        """config.patience epochs have passed since the best one (read from the
        history, so a resumed run stops where the uninterrupted one would)."""
        if self.config.patience is None or not self.history:
            return False
        return self.history[-1]["epoch"] - self.best_record()["epoch"] >= self.config.patience

    def train_epoch(self, epoch: int) -> dict:
        self.network.train()
        sampler = getattr(self.train_loader, "batch_sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        ratio = self.config.teacher_forcing_ratio(epoch)
        for group in self.optimizer.param_groups:
            group["lr"] = self.config.lr * self.config.lr_factor(epoch)
        loss_sum = torch.zeros((), dtype=torch.float64)
        tokens, started = 0, time.perf_counter()
        batches = tqdm(
            self.train_loader,
            desc=f"epoch {epoch}",
            leave=False,
            disable=not self.config.progress or distributed.rank() != 0,
        )
        for batch in batches:
            batch = batch.to(self.device)
            with self._autocast():
                loss, count = batch_loss(self.network, self.model, batch, ratio)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss / max(count, 1)).backward()
            if self.config.clip > 0:
                self.scaler.unscale_(self.optimizer)
                nn.utils.clip_grad_norm_(self.model.parameters(), self.config.clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            loss_sum += loss.detach().double().cpu()
            tokens += count
            batches.set_postfix(loss=f"{loss.item() / max(count, 1):.4f}")
        loss_sum, tokens = self._all_reduce(loss_sum, tokens)
        seconds = time.perf_counter() - started
        return {
            "train_loss": loss_sum / max(tokens, 1),
            "teacher_forcing": ratio,
            "lr": self.optimizer.param_groups[0]["lr"],
            "seconds": seconds,
            "tokens_per_s": tokens / seconds,
        }

    @torch.no_grad()
    def evaluate(self, loader=None) -> dict:
        """Teacher-forced loss and token accuracy on `loader` (the validation set)."""
        self.model.eval()
        pad = self.model.config.pad_index
        loss_sum, tokens, correct = torch.zeros((), dtype=torch.float64), 0, 0
        for batch in loader or self.valid_loader:
            batch = batch.to(self.device)
            with self._autocast():
                logits = self.model(batch.src, batch.src_lengths, batch.tgt)
                loss, count = masked_cross_entropy(logits, batch.tgt[:, 1:], pad)
            correct += count_correct_tokens(logits, batch.tgt[:, 1:], pad)[0]
            loss_sum += loss.double().cpu()
            tokens += count
        return {
            "valid_loss": float(loss_sum) / max(tokens, 1),
            "valid_token_accuracy": correct / max(tokens, 1),
        }

    def _autocast(self):
        if self.config.amp is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=AMP_DTYPES[self.config.amp])

    @staticmethod
    def _all_reduce(loss_sum: Tensor, tokens: int):
        """The sums over all processes (the loss logged is the global one)."""
        if not distributed.is_running():
            return float(loss_sum), tokens
        totals = torch.tensor([float(loss_sum), tokens], dtype=torch.float64)
        dist.all_reduce(totals)
        return float(totals[0]), int(totals[1])

    # ------------------------------------------------------------ files
    def _end_of_epoch(self, record: dict) -> None:
        if self.best_record() is record:
            save_checkpoint(self.out_dir / "best.pt", self._model_payload(record["epoch"]))
        save_checkpoint(self.out_dir / "last.pt", self._resume_payload(record["epoch"]))
        self._write_logs()

    def _model_payload(self, epoch: int) -> dict:
        return {
            "model_config": self.model.config.to_dict(),
            "model": self.model.state_dict(),
            "epoch": epoch,
            "extra": self.extra_state,
        }

    def _resume_payload(self, epoch: int) -> dict:
        return {
            **self._model_payload(epoch),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": rng_states(),
            "train_config": asdict(self.config),
            "history": self.history,
        }

    def check_resumable(self) -> None:
        """What fit(resume=True) checks first, for a caller to check before
        it writes anything: an out_dir/last.pt of another model is an error."""
        if (self.out_dir / "last.pt").exists():
            self._resumable_payload(self.out_dir / "last.pt")

    def _resumable_payload(self, path) -> dict:
        payload = load_checkpoint(path, map_location=self.device)
        if "optimizer" not in payload:
            raise CheckpointError(f"{path} holds a model only; resuming needs a last.pt")
        ours = self.model.config.to_dict()
        if payload["model_config"] != ours:
            theirs = payload["model_config"]
            differences = ", ".join(
                f"{key} {theirs.get(key)} there, {ours.get(key)} here"
                for key in sorted(set(ours) | set(theirs))
                if theirs.get(key) != ours.get(key)
            )
            raise CheckpointError(
                f"{path} was written for another model configuration ({differences}): to train"
                f" this one, pass --restart (restart=True in Python: it starts over in"
                f" {self.out_dir}, replacing its files) or another --out"
            )
        return payload

    def resume(self, path) -> None:
        payload = self._resumable_payload(path)
        self.model.load_state_dict(payload["model"])
        self.optimizer.load_state_dict(payload["optimizer"])
        self.scaler.load_state_dict(payload["scaler"])
        set_rng_states(payload["rng"])
        self.history = payload["history"]
        self.start_epoch = payload["epoch"] + 1

    def _write_logs(self) -> None:
        (self.out_dir / "history.json").write_text(json.dumps(self.history, indent=1))
        with open(self.out_dir / "history.csv", "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=list(self.history[0]))
            writer.writeheader()
            writer.writerows(self.history)
        from .plots import plot_learning_curves  # matplotlib is imported only to plot

        plot_learning_curves(self.history, self.out_dir / "learning_curves.png")


def load_model(path, device="cpu", backend: Optional[str] = None):
    """The Seq2Seq of a checkpoint (best.pt or last.pt), in eval mode, and the
    checkpoint's extra state. `backend` overrides the one it was trained with."""
    payload = load_checkpoint(path, map_location=device)
    values = dict(payload["model_config"])
    if backend is not None:
        values["backend"] = backend
    try:
        config = Seq2SeqConfig.from_dict(values)
    except (TypeError, ValueError) as error:  # another version's fields
        raise CheckpointError(f"{path}: its model config does not load: {error}") from None
    model = Seq2Seq(config).to(device)
    model.load_state_dict(payload["model"])
    return model.eval(), payload.get("extra", {})
