"""Checkpoints: one file with the model's config and weights (and, for resuming,
the optimizer, the RNG states and the training history). Written atomically
(atomic_file.py): an interrupted write never leaves a truncated file in place
of the previous one."""

import random
from pathlib import Path

import torch

from .atomic_file import atomic_output
from .errors import InputError

FORMAT = "seq2seq_ext-checkpoint-v1"


class CheckpointError(InputError):
    """The file is missing, truncated, or not a seq2seq_ext checkpoint."""


def save_checkpoint(path, payload: dict) -> None:
    with atomic_output(path, "wb") as file:
        torch.save({"format": FORMAT, **payload}, file)


def load_checkpoint(path, map_location="cpu") -> dict:
    """The payload of `path`; a CheckpointError names the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises several types for damaged files
        raise CheckpointError(
            f"{path} is not a readable checkpoint (truncated or not written by torch.save): {error}"
        ) from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is not a seq2seq_ext checkpoint (expected format {FORMAT!r})"
        )
    return payload


def rng_states() -> dict:
    """Every random state training draws from: Python's, torch's CPU and CUDA ones."""
    states = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict) -> None:
    random.setstate(_as_tuple(states["python"]))
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def _as_tuple(value):
    """random.setstate wants the nested tuples random.getstate gave."""
    return tuple(_as_tuple(v) for v in value) if isinstance(value, (list, tuple)) else value
