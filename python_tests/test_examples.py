"""The examples run on the compiled kernels and learn: each ends with RESULT
{json}, which says what served the ops, and its accuracy is well above chance.
(count_flops is tested in test_flops.py.)"""

from collections import Counter

import pytest
from conftest import REPO, result_of, run_python

from seq2seq_ext.checkpoint import load_checkpoint
from seq2seq_ext.data import task_splits


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


def test_reverse_words_quick_reaches_ninety_percent_exact_match(tmp_path):
    result = run_example("reverse_words.py", "--quick", "--device", "cpu", "--out", str(tmp_path))
    assert result["exact_match"] >= 0.9
    assert (tmp_path / "attention_heatmap.png").stat().st_size > 0
    assert (tmp_path / "best.pt").exists() and (tmp_path / "learning_curves.png").exists()


# Short runs (15 to 25 s each): their validation token accuracy, measured, and
# the margin it must keep above chance (arithmetic's answers are half guessable:
# the sign, and EOS after three tokens, are).
@pytest.mark.parametrize(
    "name, extra, margin",
    [
        ("arithmetic.py", ["--examples", "4000", "--epochs", "5"], 0.08),  # 0.57 vs 0.45
        ("translate_tsv.py", ["--epochs", "8"], 0.3),  # 0.81 vs 0.32
    ],
)
def test_translation_examples_learn(tmp_path, name, extra, margin):
    result = run_example(name, "--quick", "--device", "cpu", "--out", str(tmp_path), *extra)
    chance = chance_token_accuracy(tmp_path / "best.pt")
    assert result["valid_token_accuracy"] > chance + margin, chance
    assert {"exact_match", "bleu", "chrf"} <= set(result)
    assert (tmp_path / "attention_heatmap.png").stat().st_size > 0


def test_add_two_digits_learns(tmp_path):
    """At length 5 both models learn the sum (0.92 and 0.99 measured), far above
    chance: 0.1, the frequency of the most common sum, 9."""
    result = run_example("add_two_digits.py", "--quick", "--lengths", "5", "--out", str(tmp_path))
    assert result["rnn_length_5_valid_accuracy"] > 0.5
    assert result["lstm_length_5_valid_accuracy"] > 0.5
    assert (tmp_path / "add_two_digits.png").stat().st_size > 0
