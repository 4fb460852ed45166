"""Seed 003: reverse the word order of a sentence with a GRU encoder and a
Bahdanau-attention decoder, teacher forcing, gradient clipping at 1.0 and the
best-validation checkpoint.

Trains with `python -m seq2seq_ext train`'s code, then decodes the held-out
test split with the best checkpoint. Prints 10 test examples and the exact-match
accuracy, writes attention_heatmap.png (one test sentence: the weights run along
the anti-diagonal, as each output word attends to its mirror in the source),
learning_curves.png, history.csv/json and best.pt into --out, and as its last
line RESULT {json}.

    python examples/reverse_words.py [--quick] [--device cpu] [--out runs/reverse_words]
"""
import argparse
import json
import sys

from seq2seq_ext import cli
from seq2seq_ext.plots import plot_attention

QUICK = ["--examples", "6000", "--epochs", "12", "--hidden", "128", "--words", "30"]
FULL = ["--examples", "30000", "--epochs", "25", "--hidden", "256", "--words", "60"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run (under 2 minutes)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--out", default="runs/reverse_words")
    args, train_options = parser.parse_known_args(argv)
    options = ["train", "--task", "reverse_words", "--cell", "gru", "--attention", "bahdanau",
               "--clip", "1.0", "--out", args.out, "--restart", "--no-progress",
               *(QUICK if args.quick else FULL), *train_options]
    if args.device:
        options += ["--device", args.device]
    run = cli.train(cli.build_parser().parse_args(options))
    translator, pairs = run["translator"], run["test_pairs"]
    for (source, reference), translation in list(zip(pairs, run["translations"]))[:10]:
        mark = "ok " if translation.tokens == list(reference) else "BAD"
        print(f"{mark} {' '.join(source)}\n    -> {' '.join(translation.tokens)}")
    longest = max(range(min(len(pairs), 50)), key=lambda i: len(pairs[i][0]))
    example = run["translations"][longest]
    outputs = [*example.tokens, "<eos>"][:example.attention.shape[0]]  # EOS if it was reached
    plot_attention(example.attention, [*pairs[longest][0], "<eos>"], outputs,
                   f"{args.out}/attention_heatmap.png",
                   title="reverse words: attention of each output word")
    scores = {k: v for k, v in run.items() if k not in ("translations", "test_pairs",
                                                         "translator")}
    print(f"exact match on {scores['test_examples']} test sentences: "
          f"{scores['exact_match']:.3f}")
    print("RESULT " + json.dumps(scores))


if __name__ == "__main__":
    main(sys.argv[1:])
