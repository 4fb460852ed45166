"""Translation from a file of sentence pairs (tatoeba style,
``source<TAB>target[<TAB>attribution]``), by default the small English-French
sample shipped with the package; give any such file with --data PATH.

Trains a GRU encoder-decoder with Bahdanau attention, reports token accuracy,
exact match, BLEU and chrF on the held-out test split, shows 10 test
translations, translates a few new sentences with ``translate("...")``, and with
--interactive reads sentences from stdin. Writes best.pt (with the
vocabularies), attention_heatmap.png and learning_curves.png into --out; the
last line is RESULT {json}. Later: python -m seq2seq_ext translate
--checkpoint OUT/best.pt "..."

    python examples/translate_tsv.py [--quick] [--data eng-fra.tsv] [--device cpu]
        [--out runs/examples/translate_tsv] [--interactive]
"""

import sys

from translation_example import example_parser, run_example

QUICK = {"epochs": 30, "hidden": 128, "layers": 1, "dropout": 0.0, "beam": 1}
NEW_SENTENCES = ["I eat the apple.", "We read the newspaper.", "She likes the cat."]

if __name__ == "__main__":
    parser = example_parser(
        "translation: bidirectional GRU, Bahdanau attention", "translate_tsv.yaml"
    )
    parser.add_argument(
        "--interactive", action="store_true", help="then translate the lines of stdin"
    )
    run, args = run_example(parser, QUICK)
    translator = run.translator
    for sentence in NEW_SENTENCES:
        print(f"translate({sentence!r}) = {translator.translate(sentence)!r}", file=sys.stderr)
    if args.interactive:
        for line in sys.stdin:
            print(translator.translate(line.strip()), flush=True)
