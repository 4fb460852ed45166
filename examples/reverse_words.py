"""Reverse the word order of a sentence with a GRU encoder and a
Bahdanau-attention decoder, teacher forcing, gradient clipping at 1.0 and the
best-validation checkpoint.

Trains as `python -m seq2seq_ext train --config configs/reverse_words.yaml`
does, then decodes the held-out
test split with the best checkpoint. Prints 10 test examples and the exact-match
accuracy, writes attention_heatmap.png (one test sentence: the weights run
along the anti-diagonal, one step off: the decoder looks at the source word it
has just written, whose encoder state carries the word before it),
learning_curves.png, history.csv/json and best.pt into --out, and as its last
line RESULT {json}.

    python examples/reverse_words.py [--quick] [--device cpu] [--out runs/examples/reverse_words]
"""

from translation_example import example_parser, run_example

QUICK = {"examples": 6000, "epochs": 12, "hidden": 128, "words": 30}

if __name__ == "__main__":
    parser = example_parser("reverse words: GRU encoder, Bahdanau attention", "reverse_words.yaml")
    run_example(parser, QUICK)
