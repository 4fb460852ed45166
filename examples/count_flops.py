"""Parameters and FLOPs of an RNN seq2seq model, per component.

Prints a table from seq2seq_ext.flops (closed forms from the model's config)
and, in the plain case of a one-layer Elman RNN encoder and decoder without
attention, checks it against the textbook closed forms (embedding m, hidden k,
vocabulary V, T steps each side):

    FLOPs      = T (4mk + 4k^2 + 2k + 2kV)
    parameters = Vm + 2mk + 2k^2 + 2k + kV + V

and the parameter count against the model itself; then the last line
RESULT {json}. Exits 1 if a count differs.

    python examples/count_flops.py [--cell rnn_tanh|rnn_relu|gru|lstm] [--embedding 256]
        [--hidden 512] [--vocab 10000] [--len 20] [--layers 1]
        [--attention none|bahdanau|luong-dot|luong-general] [--bidirectional]
        [--batch 1] [--quick] [--device cpu] [--out DIR]
"""

import argparse
import json
import sys
from pathlib import Path

from seq2seq_ext.flops import COMPONENTS, count_flops, count_parameters
from seq2seq_ext.models import Seq2Seq, Seq2SeqConfig
from seq2seq_ext.models.config import ATTENTIONS, CELLS


def closed_form_flops(m: int, k: int, V: int, T: int) -> int:
    """Forward FLOPs of a one-layer Elman encoder and decoder, no attention."""
    return T * (4 * m * k + 4 * k * k + 2 * k + 2 * k * V)


def closed_form_parameters(m: int, k: int, V: int) -> int:
    """The textbook count: one embedding table and one bias vector per RNN.
    The model has two tables (source and target) and torch's two bias vectors
    per RNN, so it has ``closed_form_parameters + V*m + 2k``."""
    return V * m + 2 * m * k + 2 * k * k + 2 * k + k * V + V


def is_closed_form_case(config: Seq2SeqConfig) -> bool:
    """The closed forms hold for one-layer unidirectional Elman RNNs without
    attention, with one vocabulary size."""
    return (
        config.cell in ("rnn_tanh", "rnn_relu")
        and config.num_layers == 1
        and not config.bidirectional
        and config.attention == "none"
        and config.src_vocab_size == config.tgt_vocab_size
    )


def closed_form_check(config: Seq2SeqConfig, length: int, params: dict, forward: dict):
    """(lines to print, metrics, whether the counts match the closed forms)."""
    if not is_closed_form_case(config):
        return (
            ["the closed forms hold for a one-layer Elman RNN without attention: not checked"],
            {},
            True,
        )
    m, k, V, T = config.embedding_size, config.hidden_size, config.tgt_vocab_size, length
    flops, textbook_params = closed_form_flops(m, k, V, T), closed_form_parameters(m, k, V)
    model_params = textbook_params + V * m + 2 * k  # the target embedding, bias_hh twice
    ok = forward["total"] == flops and params["total"] == model_params
    lines = [
        f"closed-form FLOPs T(4mk + 4k^2 + 2k + 2kV) = {flops:,}: "
        f"{'equal' if forward['total'] == flops else 'DIFFERENT'}",
        f"closed-form parameters Vm + 2mk + 2k^2 + 2k + kV + V = {textbook_params:,}; plus the "
        f"target embedding Vm and torch's second RNN bias 2k = {model_params:,}: "
        f"{'equal' if params['total'] == model_params else 'DIFFERENT'}",
    ]
    metrics = dict(
        closed_form_flops=flops,
        closed_form_params=textbook_params,
        closed_form_params_with_target_embedding_and_bias_hh=model_params,
        closed_form_match=ok,
    )
    return lines, metrics, ok


def markdown_table(params: dict, forward: dict, training: dict) -> str:
    lines = [
        "| component | parameters | forward FLOPs | forward + backward FLOPs |",
        "|---|---:|---:|---:|",
    ]
    for name in (*COMPONENTS, "total"):
        lines.append(f"| {name} | {params[name]:,} | {forward[name]:,} | {training[name]:,} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Parameters and FLOPs of a Seq2Seq model per component, checked against "
        "the closed forms in the plain case."
    )
    parser.add_argument("--cell", choices=CELLS, default="rnn_tanh")
    parser.add_argument("--embedding", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--vocab", type=int, default=10000, help="source and target vocabulary")
    parser.add_argument(
        "--len", type=int, default=20, dest="length", help="source and target length T"
    )
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--attention", choices=ATTENTIONS, default="none")
    parser.add_argument("--bidirectional", action="store_true")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="accepted; the count is instant")
    parser.add_argument("--device", default="cpu", help="where to build the model")
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="where the table goes, as count_flops.md (default: stdout only)",
    )
    args = parser.parse_args(argv)

    config = Seq2SeqConfig(
        src_vocab_size=args.vocab,
        tgt_vocab_size=args.vocab,
        embedding_size=args.embedding,
        hidden_size=args.hidden,
        num_layers=args.layers,
        cell=args.cell,
        bidirectional=args.bidirectional,
        attention=args.attention,
    )
    T = args.length
    params = count_parameters(config)
    forward = count_flops(config, T, T, batch=args.batch)
    training = count_flops(config, T, T, batch=args.batch, backward=True)
    heading = (
        f"cell={config.cell} E={config.embedding_size} H={config.hidden_size} "
        f"V={args.vocab} T={T} layers={config.num_layers} "
        f"bidirectional={config.bidirectional} attention={config.attention} "
        f"batch={args.batch}"
    )
    table = markdown_table(params, forward, training)
    check_lines, closed_form_metrics, ok = closed_form_check(config, T, params, forward)
    model_params = sum(p.numel() for p in Seq2Seq(config).to(args.device).parameters())
    ok = ok and model_params == params["total"]
    check_lines.append(
        f"Seq2Seq(config) has {model_params:,} parameters: "
        f"{'equal' if model_params == params['total'] else 'DIFFERENT'}"
    )
    print(heading, table, *check_lines, sep="\n")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "count_flops.md").write_text(
            "\n\n".join([heading, table, "\n".join(check_lines)]) + "\n"
        )
    metrics = dict(
        config=config.to_dict(),
        length=T,
        batch=args.batch,
        params_total=params["total"],
        flops_total=forward["total"],
        flops_forward_backward_total=training["total"],
        model_params=model_params,
        **closed_form_metrics,
    )
    print("RESULT " + json.dumps(metrics))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
