"""What the translation-style examples (reverse_words, translate_tsv,
arithmetic) share: parse --quick, --device and --out (any other option goes to
`python -m seq2seq_ext train`), train, print 10 test examples, draw the
attention of one test sentence to OUT/attention_heatmap.png, and print
RESULT {json} last."""

import argparse
import json
from pathlib import Path

from seq2seq_ext.cli import build_parser, metrics_of, train
from seq2seq_ext.plots import plot_attention


def run_example(
    description: str, task_options: list, quick_options: list, full_options: list, argv=None
) -> dict:
    """Trains with task_options plus quick_options (--quick) or full_options;
    returns what cli.train returns."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a small run (under 2 minutes)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--out", required=True)
    args, train_options = parser.parse_known_args(argv)
    options = [
        "train",
        *task_options,
        "--out",
        args.out,
        "--restart",
        "--no-progress",
        *(quick_options if args.quick else full_options),
        *train_options,
    ]
    if args.device:
        options += ["--device", args.device]
    run = train(build_parser().parse_args(options))
    translator, pairs, translations = run["translator"], run["test_pairs"], run["translations"]
    for (source, reference), translation in list(zip(pairs, translations))[:10]:
        mark = "ok " if translation.tokens == list(reference) else "BAD"
        print(
            f"{mark} {translator.detokenize(source)}\n    -> "
            f"{translator.detokenize(translation.tokens)}"
        )
    shown = max(range(min(len(pairs), 50)), key=lambda i: len(pairs[i][0]))
    example = translations[shown]
    if example.attention is not None:
        outputs = [*example.tokens, "<eos>"][: example.attention.shape[0]]  # EOS if reached
        plot_attention(
            example.attention,
            [*pairs[shown][0], "<eos>"],
            outputs,
            Path(args.out) / "attention_heatmap.png",
            title=description,
        )
    scores = metrics_of(run)
    print(
        f"exact match {scores['exact_match']:.3f}, BLEU {scores['bleu']:.1f} on "
        f"{scores['test_examples']} test examples"
    )
    print("RESULT " + json.dumps(scores))
    return run
