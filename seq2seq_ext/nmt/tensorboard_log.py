"""TensorBoard logging for the Trainer (``train --tensorboard``): after each
epoch, the record's numbers as scalars (losses, learning rate, tokens/s,
validation scores) and the attention heatmap of a fixed validation sentence.
``tensorboard`` is an optional dependency; without it, a clear InputError."""

from numbers import Number
from pathlib import Path

from ..errors import InputError


def summary_writer_class():
    """torch's SummaryWriter; InputError if the tensorboard package is missing
    (call it before a run writes anything)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as error:
        raise InputError(
            f"--tensorboard needs the tensorboard package ({error}): pip install tensorboard"
        ) from None
    return SummaryWriter


class TensorBoardLog:
    """Event files in `directory` (``tensorboard --logdir`` reads them)."""

    def __init__(self, directory) -> None:
        self.writer = summary_writer_class()(log_dir=str(Path(directory)))

    def epoch(self, record: dict, attention_example=None) -> None:
        """`record`: the Trainer's epoch record; `attention_example`: (weights,
        source tokens, output tokens) of the validation sentence, or None."""
        step = record["epoch"]
        for name, value in record.items():
            if name != "epoch" and isinstance(value, Number):
                self.writer.add_scalar(name, value, step)
        if attention_example is not None:
            from .plots import attention_figure

            self.writer.add_figure(
                "validation_attention", attention_figure(*attention_example), step
            )
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
