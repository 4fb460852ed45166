"""A plain RNN against an LSTM on "add two digits" at sequence lengths
5, 10 and 30 (hidden size 128, 2 layers, everything else equal).

Each input is a sequence of digits with one marker (-1, token 10) somewhere
before the last two positions; the label is the digit after the marker plus the
last digit, a class in [0, 18]. The model embeds the tokens, runs a FusedRNN or
FusedLSTM over them and classifies its last output. The further the marker is
from the end, the longer the model must remember a digit: the plain RNN's
gradients vanish over that distance, the LSTM's cell state carries them.

Writes add_two_digits.png (training loss and validation accuracy per epoch,
per model and length) and history.json into --out; the last line printed is
RESULT {json} with each model's final validation accuracy per length.

    python examples/add_two_digits.py [--quick] [--device cpu] [--out runs/examples/add_two_digits]
"""

import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from seq2seq_ext import FusedLSTM, FusedRNN, backend_summary
from seq2seq_ext.nmt.data import add_two_digits_examples
from seq2seq_ext.nmt.options import OptionParser
from seq2seq_ext.nmt.plots import plot_curves_by_length

LENGTHS, HIDDEN, LAYERS, CLASSES, TOKENS = (5, 10, 30), 128, 2, 19, 11


class DigitSummer(nn.Module):
    """tokens (B, L) -> class scores (B, 19) from the recurrent layer's last output."""

    def __init__(self, layer_class):
        super().__init__()
        self.embedding = nn.Embedding(TOKENS, 32)
        self.rnn = layer_class(32, HIDDEN, num_layers=LAYERS, batch_first=True)
        self.classify = nn.Linear(HIDDEN, CLASSES)

    def forward(self, tokens):
        outputs, _ = self.rnn(self.embedding(tokens))
        return self.classify(outputs[:, -1])


def accuracy(model, tokens, labels) -> float:
    model.eval()
    with torch.no_grad():
        return (model(tokens).argmax(dim=1) == labels).float().mean().item()


def train(layer_class, length, args, device) -> list:
    torch.manual_seed(args.seed)
    train_x, train_y = add_two_digits_examples(args.examples, length, seed=args.seed)
    valid_x, valid_y = add_two_digits_examples(args.examples // 5, length, seed=args.seed + 1)
    train_x, train_y = train_x.to(device), train_y.to(device)
    valid_x, valid_y = valid_x.to(device), valid_y.to(device)
    model = DigitSummer(layer_class).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    history = []
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(train_x), device=device)
        losses = []
        for start in range(0, len(order), args.batch_size):
            batch = order[start : start + args.batch_size]
            loss = F.cross_entropy(model(train_x[batch]), train_y[batch])
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            losses.append(loss.item())
        history.append(
            {
                "epoch": epoch,
                "train_loss": sum(losses) / len(losses),
                "train_accuracy": accuracy(model, train_x[:2000], train_y[:2000]),
                "valid_accuracy": accuracy(model, valid_x, valid_y),
            }
        )
    return history


def main(argv=None):
    parser = OptionParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="3,000 examples and 8 epochs (under 2 minutes)"
    )
    parser.add_argument(
        "--device",
        default="cuda" if torch.cuda.is_available() else "cpu",
        help="default: %(default)s",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default="runs/examples/add_two_digits",
        help="where the plot and history go (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--examples", type=int, help="training examples (default: by mode)")
    parser.add_argument("--epochs", type=int, help="(default: by mode)")
    parser.add_argument(
        "--lengths",
        type=int,
        nargs="+",
        default=list(LENGTHS),
        help="sequence lengths to compare at",
    )
    args = parser.parse_args(argv)
    examples, epochs = (3000, 8) if args.quick else (10000, 30)
    args.examples, args.epochs = args.examples or examples, args.epochs or epochs
    curves, result = {}, {}
    for length in args.lengths:
        for name, layer_class in (("RNN", FusedRNN), ("LSTM", FusedLSTM)):
            started = time.perf_counter()
            history = train(layer_class, length, args, args.device)
            curves[(name, length)] = history
            result[f"{name.lower()}_length_{length}_valid_accuracy"] = history[-1]["valid_accuracy"]
            print(
                f"{name:4} length {length:2}: valid accuracy {history[-1]['valid_accuracy']:.3f} "
                f"({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "history.json").write_text(
        json.dumps(
            {f"{name}_{length}": history for (name, length), history in curves.items()}, indent=1
        )
    )
    plot_curves_by_length(
        curves,
        out / "add_two_digits.png",
        title=f"add two digits: RNN vs LSTM, hidden {HIDDEN}, {LAYERS} layers",
    )
    result["backend"] = backend_summary(args.device)
    longest = max(args.lengths)
    result[f"lstm_beats_rnn_at_{longest}"] = (
        result[f"lstm_length_{longest}_valid_accuracy"]
        > result[f"rnn_length_{longest}_valid_accuracy"]
    )
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
