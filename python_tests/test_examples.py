"""The examples run on the compiled kernels and learn: each ends with RESULT
{json}, which says what served the ops, and its accuracy is well above chance.
Each takes --quick, --device and --out DIR, as the README says. (count_flops is
tested in test_flops.py.)"""

import json
import re
from collections import Counter

import pytest
from conftest import REPO, result_of, run_python

from seq2seq_ext.checkpoint import load_checkpoint
from seq2seq_ext.nmt import DecodeConfig, RunConfig, evaluate, translate
from seq2seq_ext.nmt.data import task_splits

SAMPLE = REPO / "seq2seq_ext" / "nmt" / "data" / "samples" / "eng-fra.tsv"


def run_example(name, *args):
    result = result_of(run_python(REPO / "examples" / name, *args).stdout)
    assert result["backend"] == {
        "device_type": "cpu",
        "compiled_kernels": True,
        "reference_ops": [],
    }
    return result


def chance_token_accuracy(checkpoint) -> float:
    """The validation token accuracy of a decoder that knows no source: at each
    target position, the token most frequent there (EOS included)."""
    targets = [
        [*t, "<eos>"] for _, t in task_splits(load_checkpoint(checkpoint)["extra"]["data"])[1]
    ]
    right = sum(
        Counter(t[position] for t in targets if len(t) > position).most_common(1)[0][1]
        for position in range(max(map(len, targets)))
    )
    return right / sum(map(len, targets))


def decoding(weights="float32", beam=1) -> RunConfig:
    return RunConfig(decode=DecodeConfig(beam=beam, weights=weights), device="cpu")


def assert_reduced_weights_keep_quality(checkpoint, beam=1, data=None):
    """`evaluate` with bfloat16 or int8 weights scores within half a point of
    float32: exact match (in percent) and BLEU."""
    scores = {}
    for weights in ("float32", "bfloat16", "int8"):
        scores[weights] = evaluate(decoding(weights, beam), checkpoint, data=data)
        assert scores[weights]["weights"] == weights
    for weights in ("bfloat16", "int8"):
        exact_match_points = 100 * (
            scores[weights]["exact_match"] - scores["float32"]["exact_match"]
        )
        assert abs(exact_match_points) <= 0.5, (weights, scores)
        assert abs(scores[weights]["bleu"] - scores["float32"]["bleu"]) <= 0.5, (weights, scores)


def test_reverse_words_quick_reaches_ninety_percent_exact_match(tmp_path, capsys):
    result = run_example("reverse_words.py", "--quick", "--device", "cpu", "--out", str(tmp_path))
    assert result["exact_match"] >= 0.9
    assert_reduced_weights_keep_quality(tmp_path / "best.pt", beam=4)
    source = "w3 w14 w7 w21"
    for weights in ("float32", "int8"):
        translate(decoding(weights), [source], tmp_path / "best.pt")
    float32_output, int8_output = capsys.readouterr().out.splitlines()
    assert float32_output == int8_output == "w21 w7 w14 w3"
    assert (tmp_path / "attention_heatmap.png").stat().st_size > 0
    assert (tmp_path / "best.pt").exists() and (tmp_path / "learning_curves.png").exists()


# Short runs (15 to 25 s each): their validation token accuracy, measured, and
# the margin it must keep above chance (arithmetic's answers are half guessable:
# the sign, and EOS after three tokens, are).
# With reduced weights they are evaluated on the test split (arithmetic: ~390
# examples) or, translate_tsv's having 50 (one sentence is a point of BLEU), on
# the whole 500-pair sample.
@pytest.mark.parametrize(
    "name, extra, margin, evaluation",
    [
        ("arithmetic.py", ["--examples", "4000", "--epochs", "5"], 0.08, None),  # 0.57 vs 0.45
        ("translate_tsv.py", ["--epochs", "8"], 0.3, SAMPLE),  # 0.81 vs 0.32
    ],
)
def test_translation_examples_learn(tmp_path, name, extra, margin, evaluation):
    result = run_example(name, "--quick", "--device", "cpu", "--out", str(tmp_path), *extra)
    chance = chance_token_accuracy(tmp_path / "best.pt")
    assert result["valid_token_accuracy"] > chance + margin, chance
    assert {"exact_match", "bleu", "chrf"} <= set(result)
    assert (tmp_path / "attention_heatmap.png").stat().st_size > 0
    assert_reduced_weights_keep_quality(tmp_path / "best.pt", data=evaluation)


def test_add_two_digits_learns(tmp_path):
    """At length 5 both models learn the sum (0.92 and 0.99 measured), far above
    chance: 0.1, the frequency of the most common sum, 9."""
    result = run_example("add_two_digits.py", "--quick", "--lengths", "5", "--out", str(tmp_path))
    assert result["rnn_length_5_valid_accuracy"] > 0.5
    assert result["lstm_length_5_valid_accuracy"] > 0.5
    assert (tmp_path / "add_two_digits.png").stat().st_size > 0


EXAMPLES = sorted(
    p.name for p in (REPO / "examples").glob("*.py") if p.name != "translation_example.py"
)


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_takes_quick_device_and_out(name):
    """Its --help lists the three, and its default folder is under
    runs/examples/, where no config file writes (a train --config run there
    would otherwise resume the example's checkpoint)."""
    usage = run_python(REPO / "examples" / name, "--help").stdout
    for option in ("--quick", "--device", "--out DIR"):
        assert re.search(rf"^  {option}\b", usage, re.M), usage
    default = re.search(r"\(default: (runs/\S+?)\)", " ".join(usage.split()))
    if name != "count_flops.py":  # it prints its table, and writes it only where told
        assert default and default.group(1).startswith("runs/examples/"), usage
    for config in (REPO / "configs").glob("*.yaml"):
        assert "runs/examples" not in config.read_text()


def test_char_lm_demo_writes_into_out(tmp_path):
    result = run_example("char_lm_demo.py", "--quick", "--seconds", "2", "--out", tmp_path)
    saved = json.loads((tmp_path / "char_lm.json").read_text())
    assert saved["final_loss"] == result["final_loss"] < result["initial_loss"]
    assert saved["losses"] and saved["losses"][-1]["step"] == result["steps"]
