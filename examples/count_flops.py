"""Parameters and FLOPs of an RNN seq2seq model, per component (seed 000).

Prints a table from seq2seq_ext.flops (closed forms from the model's config),
checks it against seed 000's formulas in the plain case (one-layer Elman RNN,
no attention): FLOPs T(4mk + 4k^2 + 2k + 2kV), and then the last line
RESULT {json}.

    python examples/count_flops.py [--cell rnn_tanh|rnn_relu|gru|lstm] [--embedding 256]
        [--hidden 512] [--vocab 10000] [--len 20] [--layers 1]
        [--attention none|bahdanau|luong-dot|luong-general] [--bidirectional]
        [--batch 1] [--quick] [--device cpu] [--out DIR]
"""
import sys

from seq2seq_ext.flops import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
