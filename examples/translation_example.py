"""What the translation-style examples (reverse_words, translate_tsv,
arithmetic) share: train with configs/<example>.yaml, as `python -m
seq2seq_ext train --config configs/<example>.yaml` does, with --quick's
smaller settings, --device, --out (default runs/examples/<example>, apart
from the config's own folder, so that the two never resume each other's
run) and any other train option on top, print 10 test examples, draw the
attention of one test sentence to OUT/attention_heatmap.png, and print
RESULT {json} last."""

import argparse
import json
from dataclasses import replace
from pathlib import Path

from seq2seq_ext.nmt import TrainedRun, load_config, train_run
from seq2seq_ext.nmt.options import OptionParser
from seq2seq_ext.nmt.plots import plot_attention
from seq2seq_ext.nmt.translator import attention_example

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def example_parser(description: str, config: str) -> argparse.ArgumentParser:
    """The options every example takes (--quick, --device, --out) for a run
    of configs/`config`; the script adds its own."""
    parser = OptionParser(
        description=description,
        epilog=f"Any other option of `python -m seq2seq_ext train` (its --help lists them)"
        f" overrides configs/{config} too, e.g. --epochs 5 --hidden 64.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a small run (under 2 minutes on 2 CPU cores)"
    )
    parser.add_argument("--device", help="cpu, cuda, cuda:1, ... (default: cuda if there is one)")
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=f"runs/examples/{Path(config).stem}",
        help="where the checkpoints, plots and logs go (default: %(default)s)",
    )
    parser.set_defaults(config=config)
    return parser


def run_example(
    parser: argparse.ArgumentParser, quick: dict
) -> tuple[TrainedRun, argparse.Namespace]:
    """Trains with the config file of `parser` (example_parser's) and the
    `quick` settings with --quick, from scratch and without progress bars;
    returns what train_run returns and the parsed options."""
    args, train_options = parser.parse_known_args()
    train_options += ["--out", args.out] + (["--device", args.device] if args.device else [])
    cfg = load_config(CONFIGS / args.config, quick if args.quick else None, train_options)
    cfg = replace(cfg, restart=True, train=replace(cfg.train, progress=False))
    run = train_run(cfg)
    translator, pairs, translations = run.translator, run.test_pairs, run.translations
    for (source, reference), translation in list(zip(pairs, translations))[:10]:
        mark = "ok " if translation.tokens == list(reference) else "BAD"
        print(
            f"{mark} {translator.detokenize(source, 'source')}\n    -> "
            f"{translator.detokenize(translation.tokens)}"
        )
    shown = max(range(min(len(pairs), 50)), key=lambda i: len(pairs[i][0]))
    example = attention_example(translations[shown], pairs[shown][0])
    if example is not None:
        plot_attention(*example, Path(cfg.out) / "attention_heatmap.png", title=parser.description)
    scores = run.metrics
    print(
        f"exact match {scores['exact_match']:.3f}, BLEU {scores['bleu']:.1f} on "
        f"{scores['test_examples']} test examples"
    )
    print("RESULT " + json.dumps(scores))
    return run, args
