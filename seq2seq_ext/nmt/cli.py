"""The command line: ``python -m seq2seq_ext train|evaluate|translate|sweep``.

    python -m seq2seq_ext train --task reverse_words --out runs/reverse
    python -m seq2seq_ext train --config configs/translate_tsv.yaml --epochs 5
    python -m seq2seq_ext evaluate --checkpoint runs/reverse/best.pt --beam 4
    python -m seq2seq_ext evaluate --checkpoint runs/reverse/best.pt --weights int8
    python -m seq2seq_ext translate --checkpoint runs/tsv/best.pt "I see the cat."
    python -m seq2seq_ext translate --checkpoint runs/tsv/best.pt --input in.txt --output out.txt
    python -m seq2seq_ext sweep --param lr --values 3e-4 1e-3 3e-3 --task arithmetic --out runs/lr

Tasks: ``reverse_words``, ``arithmetic``, ``addition`` (generated) and ``tsv``
(sentence pairs from --data, by default the English-French sample shipped with
the package). ``train --config FILE.yaml`` reads train's options from a YAML
file (keys: the long option names); options on the command line override it.
The examples/ scripts run the same functions. Under torchrun, ``train`` uses
DistributedDataParallel (gloo on CPU, NCCL on GPUs).
"""

import argparse
import json
import sys
from contextlib import nullcontext
from pathlib import Path

import torch

from .._ops import backend_summary
from ..atomic_file import atomic_output
from ..errors import InputError
from ..models import Seq2Seq, Seq2SeqConfig
from ..models.config import ATTENTIONS, BACKENDS, CELLS
from ..models.inference import PRECISIONS
from . import data as datasets
from . import distributed
from .config_file import config_arguments, write_config
from .data import (
    TASKS,
    TOKENIZER_KINDS,
    fit_tokenizer,
    task_pairs,
    task_splits,
    task_text_splits,
)
from .data.subwords import SUBWORD_TYPES
from .tensorboard_log import summary_writer_class
from .train import EARLY_STOPPING_METRICS, LR_SCHEDULES, TrainConfig, Trainer, load_model
from .translator import TranslationValidator, Translator, vocab_state


# ------------------------------------------------------------------ data
def data_options(args) -> dict:
    tokenizer = args.tokenizer or ("word" if args.task in ("reverse_words", "tsv") else "char")
    return {
        "task": args.task,
        "examples": args.examples,
        "seed": args.seed,
        "min_len": args.min_len,
        "max_len": args.max_len,
        "words": args.words,
        "digits": args.digits,
        "data": args.data,
        "max_pairs": args.max_pairs,
        "tokenizer": tokenizer,
        "subword_vocab_size": args.subword_vocab_size,
        "subword_type": args.subword_type,
        "joint_vocab": args.joint_vocab,
    }


# ------------------------------------------------------------------ commands
def train(args) -> dict:
    """Train on the task, then evaluate the best checkpoint on the test split.
    Writes into args.out (config.yaml first); returns the metrics (rank 0; {}
    on other ranks)."""
    if args.tensorboard:
        summary_writer_class()  # a missing package fails before any work
    device = distributed.start(args.device)
    rank, world = distributed.rank(), distributed.world_size()
    data = data_options(args)
    text_splits = task_text_splits(data)
    tokenizer = fit_tokenizer(data, text_splits[0])
    train_pairs, valid_pairs, test_pairs = task_splits(data, tokenizer, text_splits)
    if rank == 0:
        write_config(Path(args.out) / "config.yaml", args, train_parser())
    src_vocab = datasets.Vocab.build(source for source, _ in train_pairs)
    tgt_vocab = datasets.Vocab.build(target for _, target in train_pairs)
    torch.manual_seed(args.seed)
    model = Seq2Seq(
        Seq2SeqConfig(
            len(src_vocab),
            len(tgt_vocab),
            embedding_size=args.embedding,
            hidden_size=args.hidden,
            num_layers=args.layers,
            cell=args.cell,
            bidirectional=args.bidirectional,
            dropout=args.dropout,
            attention=args.attention,
            input_feeding=args.input_feeding,
            backend=args.backend,
        )
    )
    loader_options = dict(
        src_vocab=src_vocab,
        tgt_vocab=tgt_vocab,
        batch_size=args.batch_size,
        seed=args.seed,
        max_len=args.max_tokens,
    )
    train_loader = datasets.make_loader(
        train_pairs, shuffle=True, num_replicas=world, rank=rank, **loader_options
    )
    valid_loader = datasets.make_loader(valid_pairs, shuffle=False, **loader_options)
    extra = {**vocab_state(src_vocab, tgt_vocab, tokenizer), "data": data}
    tf_start, tf_end = (args.teacher_forcing * 2)[:2]
    trainer = Trainer(
        model,
        train_loader,
        valid_loader,
        TrainConfig(
            epochs=args.epochs,
            lr=args.lr,
            lr_schedule=args.lr_schedule,
            clip=args.clip,
            teacher_forcing_start=tf_start,
            teacher_forcing_end=tf_end,
            amp=args.amp,
            seed=args.seed,
            progress=not args.no_progress,
            early_stopping_metric=args.early_stopping_metric,
            patience=args.patience,
            tensorboard=args.tensorboard,
        ),
        args.out,
        device=device,
        extra_state=extra,
        validator=TranslationValidator(
            valid_pairs, src_vocab, tgt_vocab, tokenizer, max_len=args.decode_len
        ),
    )
    history = trainer.fit(resume=not args.restart)
    if rank != 0:
        distributed.stop()
        return {}
    translator = Translator.from_checkpoint(
        Path(args.out) / "best.pt", device=device, beam_size=args.beam, max_len=args.decode_len
    )
    evaluation = translator.evaluate(test_pairs)
    best = trainer.best_record()
    result = {
        "task": args.task,
        "test_examples": len(test_pairs),
        **evaluation["scores"],
        "valid_loss": best["valid_loss"],
        "valid_token_accuracy": best["valid_token_accuracy"],
        "epochs": len(history),
        "best_epoch": best["epoch"],
        "early_stopping_metric": args.early_stopping_metric,
        "train_tokens_per_s": sum(r["tokens_per_s"] for r in history) / len(history),
        "backend": backend_summary(device),
    }
    (Path(args.out) / "result.json").write_text(json.dumps(result, indent=1))
    distributed.stop()
    return {
        **result,
        "translations": evaluation["translations"],
        "test_pairs": test_pairs,
        "translator": translator,
    }


def evaluate(args) -> dict:
    """The test-split metrics of a checkpoint (the split is re-generated from the
    task options stored in it; --data evaluates on another TSV file instead)."""
    model, extra = load_model(args.checkpoint, device=args.device)
    translator = Translator.from_loaded(model, extra, args.checkpoint, **_decoding_options(args))
    data = dict(extra["data"])
    if args.data:
        data.update(task="tsv", data=args.data, max_pairs=None)
        test_pairs = task_pairs(data, translator.tokenizer)
    else:
        test_pairs = task_splits(data, translator.tokenizer)[2]
    evaluation = translator.evaluate(test_pairs)
    return {
        "checkpoint": str(args.checkpoint),
        "examples": len(test_pairs),
        "beam": args.beam,
        "weights": args.weights,
        **evaluation["scores"],
    }


def translate(args) -> dict:
    """The sentences given as arguments, or stdin's lines as they come, to
    stdout; or the --input file's lines, in batches of similar length, to the
    --output file (written whole at the end; a path that cannot be written
    fails before any work) or to stdout."""
    if args.input is None:
        if args.output is not None:
            raise InputError("--output needs --input (the file to translate)")
        translator = _translator(args)
        texts = args.text or (line.rstrip("\n") for line in sys.stdin)
        count = 0
        for text in texts:
            print(translator.translate(text), flush=True)
            count += 1
        return {"translated": count}
    if args.text:
        raise InputError("give sentences as arguments or --input FILE, not both")
    output = (
        atomic_output(args.output, protected=(args.checkpoint, args.input))
        if args.output
        else nullcontext(sys.stdout)
    )
    with output as file:
        lines = datasets.read_lines(args.input)
        translations = _translator(args).translate_texts(lines, progress=not args.no_progress)
        file.writelines(line + "\n" for line in translations)
    return {"translated": len(lines), "output": args.output or "stdout"}


def _translator(args) -> Translator:
    return Translator.from_checkpoint(
        args.checkpoint, device=args.device, **_decoding_options(args)
    )


def _decoding_options(args) -> dict:
    """Translator's options from evaluate's and translate's arguments."""
    return {
        "beam_size": args.beam,
        "max_len": args.decode_len,
        "length_penalty": args.length_penalty,
        "batch_size": args.batch_size,
        "weights": args.weights,
    }


def sweep(args) -> dict:
    """Train once per value of one option; a markdown table and a plot of the
    validation curves in args.out."""
    from .plots import plot_sweep

    rows, histories = [], {}
    for value in args.values:
        run = argparse.Namespace(**vars(args))
        setattr(run, args.param, _train_option(args.param, value))
        run.out = str(Path(args.out) / f"{args.param}={value}")
        result = train(run)
        histories[value] = json.loads((Path(run.out) / "history.json").read_text())
        rows.append(
            {
                args.param: value,
                **{
                    k: result[k]
                    for k in (
                        "valid_loss",
                        "valid_token_accuracy",
                        "exact_match",
                        "bleu",
                        "best_epoch",
                    )
                },
            }
        )
    table = [f"| {' | '.join(rows[0])} |", "|" + "---|" * len(rows[0])]
    table += ["| " + " | ".join(_format(v) for v in row.values()) + " |" for row in rows]
    (Path(args.out) / "sweep.md").write_text("\n".join(table) + "\n")
    plot_sweep(histories, args.param, Path(args.out) / "sweep.png")
    print("\n".join(table))
    return {"param": args.param, "runs": rows}


def _train_option(param: str, value: str):
    """`value` parsed as train's --param parses it (a bad value is a usage error)."""
    option = "--" + param.replace("_", "-")
    return getattr(build_parser().parse_args(["train", option, value]), param)


def parse_arguments(argv: list, args=None) -> argparse.Namespace:
    """The command line's arguments (`args`: them, parsed once already), with
    a --config file's options placed before the command line's, so that the
    command line overrides the file. A bad file raises InputError."""
    args = args or build_parser().parse_args(argv)
    if not getattr(args, "config", None):
        return args
    from_file = config_arguments(args.config, train_parser())
    after_command = argv.index(args.command) + 1
    return build_parser().parse_args([*argv[:after_command], *from_file, *argv[after_command:]])


def metrics_of(result: dict) -> dict:
    """A command's result without the objects train() returns for the examples."""
    return {
        k: v for k, v in result.items() if k not in ("translations", "test_pairs", "translator")
    }


def _message(error) -> str:
    """One line: an OSError as 'path: what happened', else the error's text."""
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.filename}: {error.strerror}"
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _format(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


# ------------------------------------------------------------------ arguments
def _number(kind, minimum, minimum_allowed=True):
    """An argparse type: `kind` (int or float) at least `minimum` (above it
    where minimum_allowed is False), so a bad value ends in argparse's one-line
    usage error."""

    def parse(text):
        value = kind(text)
        if value < minimum or (value == minimum and not minimum_allowed):
            relation = "at least" if minimum_allowed else "above"
            raise argparse.ArgumentTypeError(f"must be {relation} {minimum}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in "invalid int value"
    return parse


POSITIVE_INT = _number(int, 1)
POSITIVE_FLOAT = _number(float, 0, minimum_allowed=False)
NON_NEGATIVE_FLOAT = _number(float, 0)


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    task = parser.add_argument_group("task")
    task.add_argument("--task", choices=TASKS, default="reverse_words")
    task.add_argument(
        "--data",
        help="a UTF-8 TSV file, one source<TAB>target pair a line (task tsv); further"
        " columns, such as tatoeba's attribution, are ignored",
    )
    task.add_argument(
        "--max-pairs", type=POSITIVE_INT, help="read at most this many pairs (task tsv)"
    )
    task.add_argument(
        "--tokenizer",
        choices=TOKENIZER_KINDS,
        help="default: word for reverse_words and tsv, char otherwise; sentencepiece: subwords"
        " learnt from the training split (task tsv), stored in the checkpoint",
    )
    task.add_argument(
        "--subword-vocab-size",
        type=POSITIVE_INT,
        default=8000,
        help="sentencepiece: pieces per model (at most what the data allows)",
    )
    task.add_argument("--subword-type", choices=SUBWORD_TYPES, default="unigram")
    task.add_argument(
        "--joint-vocab",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="sentencepiece: one model for source and target text",
    )
    task.add_argument("--examples", type=POSITIVE_INT, default=20000, help="generated pairs")
    task.add_argument(
        "--min-len", type=POSITIVE_INT, default=3, help="words per sentence (reverse_words)"
    )
    task.add_argument(
        "--max-len", type=POSITIVE_INT, default=10, help="words per sentence (reverse_words)"
    )
    task.add_argument(
        "--words", type=POSITIVE_INT, default=40, help="vocabulary size (reverse_words)"
    )
    task.add_argument("--digits", type=POSITIVE_INT, default=3, help="digits per number")
    task.add_argument("--max-tokens", type=POSITIVE_INT, help="drop longer pairs")
    model = parser.add_argument_group("model")
    model.add_argument("--cell", choices=CELLS, default="gru")
    model.add_argument("--attention", choices=ATTENTIONS, default="bahdanau")
    model.add_argument("--embedding", type=POSITIVE_INT, default=64)
    model.add_argument("--hidden", type=POSITIVE_INT, default=128)
    model.add_argument("--layers", type=POSITIVE_INT, default=1)
    model.add_argument("--bidirectional", action=argparse.BooleanOptionalAction, default=False)
    model.add_argument("--dropout", type=NON_NEGATIVE_FLOAT, default=0.0)
    model.add_argument("--input-feeding", action=argparse.BooleanOptionalAction, default=False)
    model.add_argument("--backend", choices=BACKENDS, default="fused")
    training = parser.add_argument_group("training")
    training.add_argument("--epochs", type=POSITIVE_INT, default=20)
    training.add_argument("--lr", type=POSITIVE_FLOAT, default=3e-3)
    training.add_argument("--lr-schedule", choices=LR_SCHEDULES, default="cosine")
    training.add_argument("--batch-size", type=POSITIVE_INT, default=64)
    training.add_argument("--clip", type=POSITIVE_FLOAT, default=1.0)
    training.add_argument(
        "--teacher-forcing",
        type=float,
        nargs="+",
        default=[1.0],
        metavar="RATIO",
        help="one ratio, or the first and last epoch's",
    )
    training.add_argument("--amp", choices=("bf16", "fp16"))
    training.add_argument("--seed", type=int, default=0)
    training.add_argument(
        "--early-stopping-metric",
        choices=EARLY_STOPPING_METRICS,
        default="loss",
        help="the validation metric that picks best.pt (and stops early with --patience);"
        " bleu and exact_match decode the validation split greedily",
    )
    training.add_argument(
        "--patience",
        type=POSITIVE_INT,
        help="stop after this many epochs without a better validation metric",
    )
    training.add_argument(
        "--tensorboard",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="log scalars and a validation sentence's attention to OUT/tensorboard"
        " (needs the tensorboard package)",
    )
    training.add_argument(
        "--restart", action="store_true", help="ignore OUT/last.pt instead of resuming from it"
    )
    training.add_argument("--no-progress", action="store_true")
    add_common_arguments(parser, out_default="runs/train")


def add_common_arguments(parser: argparse.ArgumentParser, out_default=None) -> None:
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--debug", action="store_true", help="on bad input, show the traceback, not one line"
    )
    parser.add_argument("--beam", type=POSITIVE_INT, default=1, help="beam size (1: greedy)")
    parser.add_argument("--decode-len", type=POSITIVE_INT, default=60, help="longest output")
    if out_default:
        parser.add_argument("--out", default=out_default)


def add_decoding_arguments(parser: argparse.ArgumentParser) -> None:
    """What evaluate and translate add to the common options."""
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument(
        "--length-penalty", type=NON_NEGATIVE_FLOAT, default=0.0, help="beam: alpha of GNMT's"
    )
    parser.add_argument(
        "--batch-size", type=POSITIVE_INT, default=64, help="sentences decoded at once"
    )
    parser.add_argument(
        "--weights",
        choices=PRECISIONS,
        default="float32",
        help="precision of the decoder's matrices (bfloat16, int8: CPU only, faster one "
        "sentence at a time)",
    )
    add_common_arguments(parser)


def train_parser() -> argparse.ArgumentParser:
    """A parser of train's options alone (what a config file may hold)."""
    parser = argparse.ArgumentParser(prog="python -m seq2seq_ext train")
    add_train_arguments(parser)
    return parser


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        help="a YAML file of train options (keys: the long option names, e.g. hidden: 256);"
        " options on the command line override it",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m seq2seq_ext",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )

    commands = parser.add_subparsers(dest="command", required=True)
    training = commands.add_parser("train", help="train on a task")
    add_config_argument(training)
    add_train_arguments(training)
    evaluation = commands.add_parser("evaluate", help="test-split metrics of a checkpoint")
    evaluation.add_argument("--data", help="evaluate on all pairs of this TSV file instead")
    add_decoding_arguments(evaluation)
    translation = commands.add_parser(
        "translate", help="translate text: arguments, stdin lines, or --input FILE"
    )
    translation.add_argument("text", nargs="*")
    translation.add_argument("--input", help="a UTF-8 file, one sentence a line")
    translation.add_argument(
        "--output", help="where --input's translations go, a line each (default: stdout)"
    )
    translation.add_argument("--no-progress", action="store_true")
    add_decoding_arguments(translation)
    sweeping = commands.add_parser("sweep", help="train once per value of one option")
    sweeping.add_argument("--param", required=True, help="a train option, e.g. lr or hidden")
    sweeping.add_argument("--values", required=True, nargs="+")
    add_config_argument(sweeping)
    add_train_arguments(sweeping)
    return parser


COMMANDS = {"train": train, "evaluate": evaluate, "translate": translate, "sweep": sweep}


def main(argv=None) -> dict:
    """Runs a command. Bad input (an InputError, or a file that cannot be read or
    written) ends in one ``error: ...`` line on stderr and exit status 1; with
    --debug, in the traceback."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    try:
        args = parse_arguments(argv, args)
        if args.command == "sweep":
            if not hasattr(args, args.param):
                raise SystemExit(f"sweep: --param {args.param} is not a train option")
            for value in args.values:  # every value checked before the first run
                _train_option(args.param, value)
        result = COMMANDS[args.command](args)
    except (InputError, OSError) as error:
        if args.debug:
            raise
        print(f"error: {_message(error)}", file=sys.stderr)
        raise SystemExit(1) from None
    printable = metrics_of(result)
    if printable and distributed.rank() == 0:
        print("RESULT " + json.dumps(printable))
    return result
