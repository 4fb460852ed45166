"""Evaluate signed arithmetic expressions written as tokens, e.g.
``POSITIVE 0 4 add NEGATIVE 1 1`` -> ``NEGATIVE 0 7``, with an LSTM encoder
(bidirectional) and a Luong-general attention decoder with input feeding.

Prints 10 test expressions with the model's answers and the exact-match
accuracy (a whole answer right), writes attention_heatmap.png (which digits
each answer digit looks at), learning_curves.png and best.pt into --out, and as
its last line RESULT {json}.

    python examples/arithmetic.py [--quick] [--device cpu] [--out runs/examples/arithmetic]
"""

from translation_example import example_parser, run_example

QUICK = {"examples": 8000, "epochs": 10}

if __name__ == "__main__":
    parser = example_parser(
        "arithmetic: bidirectional LSTM, Luong attention, input feeding", "arithmetic.yaml"
    )
    run_example(parser, QUICK)
