"""The toolkit's workflow as Python functions of a RunConfig (config.py), which
the command line (cli.py), the examples and sweeps call:

    from seq2seq_ext import nmt
    cfg = nmt.load_config("configs/reverse_words.yaml", {"epochs": 5})
    metrics = nmt.train(cfg)            # into cfg.out: config.yaml, best.pt, ...
    nmt.evaluate(cfg)                   # cfg.out/best.pt on the test split
    nmt.translate(cfg, ["w1 w2 w3"])    # to stdout
    nmt.sweep(cfg, "lr", [1e-3, 3e-3])  # one run per value in cfg.out/lr=<value>
    nmt.export(cfg)                     # cfg.out/best.pt as ONNX into cfg.out/onnx

Under torchrun, train uses DistributedDataParallel (gloo on CPU, NCCL on GPUs).
"""

import json
import sys
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Sequence

import torch

from .._ops import backend_summary
from ..atomic_file import atomic_output
from ..errors import InputError
from ..models import Seq2Seq
from . import data as datasets
from . import distributed
from .config import DataConfig, RunConfig
from .data import (
    describe_splits,
    fit_tokenizer,
    read_test_split,
    reference_texts,
    task_splits,
    task_text_splits,
    tokenized,
)
from .options import with_settings, write_run_config
from .tensorboard_log import summary_writer_class
from .trainer import Trainer, load_model
from .translator import Translation, TranslationValidator, Translator, vocab_state

SWEEP_METRICS = ("valid_loss", "valid_token_accuracy", "exact_match", "bleu", "best_epoch")


@dataclass
class TrainedRun:
    """What train_run returns: train's metrics, and the best checkpoint's
    translator with its translations of the test split (for the examples)."""

    metrics: dict
    translator: Translator
    test_pairs: list
    translations: list[Translation]


def train(cfg: RunConfig) -> dict:
    """Trains as `cfg` says (resuming from cfg.out/last.pt unless cfg.restart),
    then scores the best checkpoint on the test split. Writes into cfg.out
    (config.yaml first); returns the metrics, also in result.json ({} on
    ranks other than 0 under torchrun)."""
    run = train_run(cfg)
    return run.metrics if run is not None else {}


def train_run(cfg: RunConfig) -> Optional[TrainedRun]:
    """train, returning the test split's translations too (None on ranks
    other than 0)."""
    if cfg.train.tensorboard:
        summary_writer_class()  # a missing package fails before any work
    device = distributed.start(cfg.device)
    rank, world = distributed.rank(), distributed.world_size()
    task = cfg.task_options()
    text_splits = task_text_splits(task)
    tokenizer = fit_tokenizer(task, text_splits[0])
    train_pairs, valid_pairs, test_pairs = task_splits(task, tokenizer, text_splits)
    splits = describe_splits(task, [len(split) for split in text_splits])
    out = Path(cfg.out)
    src_vocab = datasets.Vocab.build(source for source, _ in train_pairs)
    tgt_vocab = datasets.Vocab.build(target for _, target in train_pairs)
    torch.manual_seed(cfg.train.seed)
    model = Seq2Seq(cfg.model_for(len(src_vocab), len(tgt_vocab)))
    loader_options = dict(
        src_vocab=src_vocab,
        tgt_vocab=tgt_vocab,
        batch_size=cfg.train.batch_size,
        seed=cfg.train.seed,
        max_len=cfg.data.max_tokens,
    )
    train_loader = datasets.make_loader(
        train_pairs, shuffle=True, num_replicas=world, rank=rank, **loader_options
    )
    valid_loader = datasets.make_loader(valid_pairs, shuffle=False, **loader_options)
    validator = TranslationValidator(
        valid_pairs,
        src_vocab,
        tgt_vocab,
        tokenizer,
        max_len=cfg.decode.decode_len,
        references=reference_texts(task, text_splits[1]),
    )
    extra = {**vocab_state(src_vocab, tgt_vocab, tokenizer), "data": task}
    trainer = Trainer(model, train_loader, valid_loader, cfg.train, out, device, extra, validator)
    if not cfg.restart:
        trainer.check_resumable()  # before config.yaml is replaced
    if rank == 0:
        write_run_config(out / "config.yaml", cfg, ["The splits this run used:", *splits])
    history = trainer.fit(resume=not cfg.restart)
    if rank != 0:
        distributed.stop()
        return None
    translator = Translator.from_checkpoint(
        out / "best.pt", device=device, **cfg.decode.translator_options()
    )
    evaluation = translator.evaluate(test_pairs, reference_texts(task, text_splits[2]))
    best = trainer.best_record()
    metrics = {
        "task": cfg.data.task,
        "test_examples": len(test_pairs),
        "splits": splits,
        **evaluation["scores"],
        "valid_loss": best["valid_loss"],
        "valid_token_accuracy": best["valid_token_accuracy"],
        "epochs": len(history),
        "best_epoch": best["epoch"],
        "early_stopping_metric": cfg.train.early_stopping_metric,
        "train_tokens_per_s": sum(r["tokens_per_s"] for r in history) / len(history),
        "backend": backend_summary(device),
    }
    (out / "result.json").write_text(json.dumps(metrics, indent=1))
    distributed.stop()
    return TrainedRun(metrics, translator, test_pairs, evaluation["translations"])


def evaluate(cfg: RunConfig, checkpoint=None, data=None) -> dict:
    """The test-split metrics of `checkpoint` (default: cfg.out/best.pt),
    decoded as cfg.decode says: on `data` (a test file: TSV, or SOURCE,TARGET
    parallel text files; all their pairs), else on the test split of the data
    options stored in the checkpoint."""
    checkpoint = Path(cfg.out) / "best.pt" if checkpoint is None else checkpoint
    model, extra = load_model(checkpoint, device=cfg.device)
    translator = Translator.from_loaded(model, extra, checkpoint, **cfg.decode.translator_options())
    task = {**DataConfig().task_options(seed=0), **extra.get("data", {})}
    if data:
        task.update(task="tsv", test_data=str(data))
    elif "data" not in extra:
        raise InputError(
            f"{checkpoint} does not say which task it was trained on: "
            "give a file to evaluate on (--test-data)"
        )
    text_pairs = read_test_split(task)
    evaluation = translator.evaluate(
        tokenized(text_pairs, translator.tokenizer, task), reference_texts(task, text_pairs)
    )
    return {
        "checkpoint": str(checkpoint),
        "examples": len(text_pairs),
        "beam": cfg.decode.beam,
        "weights": cfg.decode.weights,
        **evaluation["scores"],
    }


def translate(
    cfg: RunConfig,
    texts: Optional[Iterable[str]] = None,
    checkpoint=None,
    input=None,
    output=None,
    progress: bool = True,
) -> dict:
    """`texts` (default: stdin's lines, as they come), each translation to
    stdout as it is made; or the `input` file's lines, in batches of similar
    length, to the `output` file (written whole at the end; a path that
    cannot be written fails before any work) or to stdout. `checkpoint`:
    default cfg.out/best.pt; decoding as cfg.decode says."""
    checkpoint = Path(cfg.out) / "best.pt" if checkpoint is None else checkpoint
    options = cfg.decode.translator_options()
    if input is None:
        if output is not None:
            raise InputError("--output needs --input (the file to translate)")
        translator = Translator.from_checkpoint(checkpoint, device=cfg.device, **options)
        count = 0
        for text in (line.rstrip("\n") for line in sys.stdin) if texts is None else texts:
            print(translator.translate(text), flush=True)
            count += 1
        return {"translated": count}
    if texts:
        raise InputError("give sentences as arguments or --input FILE, not both")
    written = (
        atomic_output(output, protected=(checkpoint, input)) if output else nullcontext(sys.stdout)
    )
    with written as file:
        lines = datasets.read_lines(input)
        translator = Translator.from_checkpoint(checkpoint, device=cfg.device, **options)
        file.writelines(line + "\n" for line in translator.translate_texts(lines, progress))
    return {"translated": len(lines), "output": str(output) if output else "stdout"}


def export(cfg: RunConfig, checkpoint=None, out=None) -> dict:
    """`checkpoint` (default: cfg.out/best.pt) as ONNX in the folder `out`
    (default: cfg.out/onnx): encoder.onnx, decoder_step.onnx, seq2seq.json
    with the vocabularies, and onnx_seq2seq.py, the runner that decodes them
    with numpy and onnxruntime alone (seq2seq_ext.onnx.export_seq2seq)."""
    from ..onnx.seq2seq_export import export_seq2seq

    checkpoint = Path(cfg.out) / "best.pt" if checkpoint is None else Path(checkpoint)
    out = Path(cfg.out) / "onnx" if out is None else Path(out)
    model, extra = load_model(checkpoint, device="cpu")
    vocabularies = {
        side: datasets.Vocab.from_state(extra[side], f"{checkpoint}'s {side}").itos
        for side in ("src_vocab", "tgt_vocab")
        if side in extra
    }
    try:
        written = export_seq2seq(model, out, **vocabularies)
    except ImportError as error:  # the onnx extra is missing: the message says what to install
        raise InputError(str(error)) from None
    return {"checkpoint": str(checkpoint), **written}


def sweep(cfg: RunConfig, param: str, values: Sequence) -> dict:
    """Trains once per value of the train option `param` (e.g. "lr", "hidden"),
    each run in cfg.out/<param>=<value>; writes a markdown table (sweep.md) and
    the validation curves (sweep.png) into cfg.out. Every value is checked
    before the first run."""
    from .plots import plot_sweep

    out = Path(cfg.out)
    runs = [
        (value, with_settings(cfg, {param: value, "out": str(out / f"{param}={value}")}, "sweep"))
        for value in values
    ]
    rows, histories = [], {}
    for value, run in runs:
        result = train(run)
        histories[value] = json.loads((Path(run.out) / "history.json").read_text())
        rows.append({param: value, **{k: result[k] for k in SWEEP_METRICS}})
    table = [f"| {' | '.join(rows[0])} |", "|" + "---|" * len(rows[0])]
    table += ["| " + " | ".join(_format(v) for v in row.values()) + " |" for row in rows]
    (out / "sweep.md").write_text("\n".join(table) + "\n")
    plot_sweep(histories, param, out / "sweep.png")
    print("\n".join(table))
    return {"param": param, "runs": rows}


def _format(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
