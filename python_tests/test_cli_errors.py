"""Bad input on the command line ends in one `error: ...` line on stderr and a
non-zero exit, never a traceback (unless --debug asks for it), and loses
nothing."""

import subprocess
import sys
from pathlib import Path

import pytest

from seq2seq_ext import cli

ROOT = Path(__file__).resolve().parent.parent


def error_line(capsys, argv, status=1):
    """Runs the CLI in this process; returns its one line on stderr."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == status
    lines = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "\n".join(lines)
    return lines[-1]


def tsv(tmp_path, content: bytes):
    path = tmp_path / "pairs.tsv"
    path.write_bytes(content)
    return str(path)


def train_on(path):
    return ["train", "--task", "tsv", "--data", path, "--epochs", "1", "--no-progress"]


def test_missing_data_file(capsys, tmp_path):
    line = error_line(capsys, train_on(str(tmp_path / "nope.tsv")) + ["--out", str(tmp_path)])
    assert (
        line == f"error: {tmp_path / 'nope.tsv'}: cannot read the file (No such file or directory)"
    )


def test_latin1_byte_names_the_line(capsys, tmp_path):
    path = tsv(tmp_path, b"a\tA\ncaf\xe9\tcoffee\n")
    line = error_line(capsys, train_on(path) + ["--out", str(tmp_path)])
    assert line.startswith(f"error: {path}, line 2: not UTF-8 (byte 0xe9")


def test_line_without_a_tab_names_the_line(capsys, tmp_path):
    path = tsv(tmp_path, b"a\tA\nb\tB\nno tab\n")
    line = error_line(capsys, train_on(path) + ["--out", str(tmp_path)])
    assert line == f"error: {path}, line 3: no tab; expected source<TAB>target"


@pytest.mark.parametrize("content", [b"", b"a\tA\nb\tB\n"], ids=["empty file", "two pairs"])
def test_too_little_data(capsys, tmp_path, content):
    line = error_line(capsys, train_on(tsv(tmp_path, content)) + ["--out", str(tmp_path / "run")])
    assert "no sentence pair found" in line or "too few to split" in line
    assert not (tmp_path / "run").exists()  # nothing written


@pytest.mark.parametrize(
    "option,value,message",
    [
        ("--hidden", "-5", "argument --hidden: must be at least 1, got -5"),
        ("--lr", "0", "argument --lr: must be above 0, got 0"),
        ("--epochs", "two", "argument --epochs: invalid int value: 'two'"),
    ],
)
def test_bad_numbers_are_usage_errors(capsys, option, value, message):
    line = error_line(capsys, ["train", option, value], status=2)
    assert line.endswith(f"error: {message}")


def test_sweep_checks_every_value_before_the_first_run(capsys, tmp_path):
    argv = ["sweep", "--param", "hidden", "--values", "8", "-5", "--out", str(tmp_path / "s")]
    line = error_line(capsys, argv, status=2)
    assert line.endswith("error: argument --hidden: must be at least 1, got -5")
    assert not (tmp_path / "s").exists()


def test_a_file_that_is_not_a_checkpoint(capsys, tmp_path):
    fake = tmp_path / "best.pt"
    fake.write_text("not a checkpoint")
    line = error_line(capsys, ["evaluate", "--checkpoint", str(fake), "--device", "cpu"])
    assert line.startswith(f"error: {fake} is not a readable checkpoint")
    assert fake.read_text() == "not a checkpoint"


def test_an_output_path_that_cannot_be_written(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    line = error_line(capsys, ["train", "--examples", "50", "--out", str(blocker / "run")])
    assert line.startswith("error: ") and str(blocker) in line


def test_debug_shows_the_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "seq2seq_ext", *train_on(str(tmp_path / "nope.tsv")), "--debug"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "InputError" in result.stderr


def test_a_user_sees_one_line(tmp_path):
    """The real command, as a user types it."""
    result = subprocess.run(
        [sys.executable, "-m", "seq2seq_ext", *train_on(str(tmp_path / "nope.tsv"))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'nope.tsv'}: cannot read the file (No such file or directory)"
    ]
