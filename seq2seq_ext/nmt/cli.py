"""The command line: ``python -m seq2seq_ext train|evaluate|translate|sweep|export``.

    python -m seq2seq_ext train --task reverse_words --out runs/reverse
    python -m seq2seq_ext train --config configs/translate_tsv.yaml --epochs 5
    python -m seq2seq_ext evaluate --checkpoint runs/reverse/best.pt --beam 4
    python -m seq2seq_ext evaluate --checkpoint runs/reverse/best.pt --weights int8
    python -m seq2seq_ext translate --checkpoint runs/tsv/best.pt "I see the cat."
    python -m seq2seq_ext translate --checkpoint runs/tsv/best.pt --input in.txt --output out.txt
    python -m seq2seq_ext sweep --param lr --values 3e-4 1e-3 3e-3 --task arithmetic --out runs/lr
    python -m seq2seq_ext export --checkpoint runs/reverse/best.pt --out runs/reverse/onnx

Tasks: ``reverse_words``, ``arithmetic``, ``addition`` (generated) and ``tsv``
(sentence pairs from --train-data, by default the English-French sample shipped
with the package; --valid-data and --test-data, else cut from it; each a TSV
file or SOURCE,TARGET parallel text files). ``train --config FILE.yaml`` reads a run config (data:, model:,
train:, decode: sections, or the long option names as keys); options on the
command line override it. Each command is a function of seq2seq_ext.nmt
(run.py), which the examples call too. Under torchrun, ``train`` uses
DistributedDataParallel (gloo on CPU, NCCL on GPUs).
"""

import argparse
import json
import sys

from ..errors import InputError
from . import distributed, run
from .config_file import config_arguments
from .options import (
    SECTIONS,
    OptionParser,
    add_debug_argument,
    add_decode_arguments,
    add_train_arguments,
    is_setting,
    run_config,
    train_parser,
)


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        help="a YAML run config (data:, model:, train:, decode: sections, e.g. model:"
        " {hidden-size: 256}; or the long option names as keys, e.g. hidden: 256);"
        " options on the command line override it",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = OptionParser(
        prog="python -m seq2seq_ext",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    training = commands.add_parser("train", help="train on a task")
    add_config_argument(training)
    add_train_arguments(training)
    evaluation = commands.add_parser("evaluate", help="test-split metrics of a checkpoint")
    evaluation.add_argument("--checkpoint", required=True)
    evaluation.add_argument(
        "--test-data",
        "--data",
        dest="evaluate_on",
        metavar="FILE",
        help="evaluate on all pairs of this TSV file (or SOURCE,TARGET parallel text files)"
        " instead of the checkpoint's test split",
    )
    add_decode_arguments(evaluation)
    translation = commands.add_parser(
        "translate", help="translate text: arguments, stdin lines, or --input FILE"
    )
    translation.add_argument("--checkpoint", required=True)
    translation.add_argument("text", nargs="*")
    translation.add_argument("--input", help="a UTF-8 file, one sentence a line")
    translation.add_argument(
        "--output",
        help="where --input's translations go, a line each (default: stdout); its folder is"
        " made if missing",
    )
    translation.add_argument("--no-progress", dest="progress", action="store_false")
    add_decode_arguments(translation)
    sweeping = commands.add_parser("sweep", help="train once per value of one option")
    sweeping.add_argument("--param", required=True, help="a train option, e.g. lr or hidden")
    sweeping.add_argument("--values", required=True, nargs="+")
    add_config_argument(sweeping)
    add_train_arguments(sweeping)
    exporting = commands.add_parser(
        "export", help="a checkpoint as ONNX: the encoder and one decoder step (docs/onnx.md)"
    )
    exporting.add_argument("--checkpoint", required=True)
    exporting.add_argument(
        "--out", dest="export_to", metavar="DIR", required=True, help="the folder to write"
    )
    add_debug_argument(exporting)
    return parser


def parse_arguments(argv: list, args=None) -> argparse.Namespace:
    """The command line's arguments (`args`: them, parsed once already), with
    a --config file's options placed before the command line's, so that the
    command line overrides the file. A bad file raises InputError."""
    args = args or build_parser().parse_args(argv)
    if not getattr(args, "config", None):
        return args
    from_file = config_arguments(args.config, train_parser(), SECTIONS)
    after_command = argv.index(args.command) + 1
    return build_parser().parse_args([*argv[:after_command], *from_file, *argv[after_command:]])


def check_sweep(args: argparse.Namespace) -> None:
    """--param names a train option and every value parses as one (else the
    parser's one-line error), before the first run."""
    if not is_setting(args.param):
        raise InputError(f"sweep: --param {args.param} is not a train option")
    option = "--" + args.param.replace("_", "-")
    for value in args.values:
        train_parser().parse_args([option, value])


def dispatch(args: argparse.Namespace) -> dict:
    """Runs the command of parsed arguments; returns its result."""
    cfg = run_config(args)
    if args.command == "train":
        return run.train(cfg)
    if args.command == "evaluate":
        return run.evaluate(cfg, args.checkpoint, data=args.evaluate_on)
    if args.command == "export":
        return run.export(cfg, args.checkpoint, args.export_to)
    if args.command == "translate":
        return run.translate(
            cfg,
            args.text or None,
            args.checkpoint,
            input=args.input,
            output=args.output,
            progress=args.progress,
        )
    check_sweep(args)
    return run.sweep(cfg, args.param, args.values)


def _message(error) -> str:
    """One line: an OSError as 'path: what happened', else the error's text."""
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.filename}: {error.strerror}"
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def main(argv=None) -> dict:
    """Runs a command. Bad input (an InputError, or a file that cannot be read or
    written) ends in one ``error: ...`` line on stderr and exit status 1; with
    --debug, in the traceback. A result is printed as ``RESULT {json}``."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    try:
        args = parse_arguments(argv, args)
        result = dispatch(args)
    except (InputError, OSError) as error:
        if args.debug:
            raise
        print(f"error: {_message(error)}", file=sys.stderr)
        raise SystemExit(1) from None
    if result and distributed.rank() == 0:
        print("RESULT " + json.dumps(result))
    return result
