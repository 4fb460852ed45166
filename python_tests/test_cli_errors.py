"""Bad input on the command line ends in one `error: ...` line on stderr and a
non-zero exit, never a traceback (unless --debug asks for it), and loses
nothing."""

import subprocess
import sys
from pathlib import Path

import pytest

from seq2seq_ext.nmt import cli

ROOT = Path(__file__).resolve().parent.parent


def error_line(capsys, argv):
    """Runs the CLI in this process; returns its one line on stderr (exit status 1)."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


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
    path = tsv(tmp_path, content)
    line = error_line(capsys, train_on(path) + ["--out", str(tmp_path / "run")])
    assert line.startswith(f"error: {path}")
    assert "no sentence pair found" in line or line.endswith(
        "too few to split into train, valid and test (train 2, valid 0, test 0 after removing"
        " repeated pairs); each split needs one, so at least 8 distinct pairs"
    )
    assert not (tmp_path / "run").exists()  # nothing written


@pytest.mark.parametrize("pairs", [7, 8])
def test_the_fewest_pairs_the_error_names_do_split(capsys, tmp_path, pairs):
    """The count the too-few-pairs error gives is the fewest that train: 7
    distinct pairs are refused, 8 split into train, valid and test."""
    path = tsv(tmp_path, "".join(f"w{i}\tW{i}\n" for i in range(pairs)).encode())
    run = train_on(path) + ["--out", str(tmp_path / "run"), "--hidden", "8", "--embedding", "8"]
    if pairs == 7:
        assert error_line(capsys, run).endswith("so at least 8 distinct pairs")
    else:
        assert cli.main(run)["test_examples"] == 1


@pytest.mark.parametrize(
    "option,value,message",
    [
        ("--hidden", "-5", "argument --hidden: must be at least 1, got -5"),
        ("--lr", "0", "argument --lr: must be above 0, got 0"),
        ("--epochs", "two", "argument --epochs: invalid int value: 'two'"),
    ],
)
def test_a_bad_value_is_one_error_line(capsys, option, value, message):
    """As docs/usage.md says of bad input: one line and exit status 1 (not
    argparse's usage text and status 2)."""
    assert error_line(capsys, ["train", option, value]) == f"error: {message}"


@pytest.mark.parametrize(
    "argv,message",
    [
        (["train", "--hiden", "5"], "unrecognized arguments: --hiden 5"),
        (["evaluate"], "the following arguments are required: --checkpoint"),
        (["trian"], "argument command: invalid choice: 'trian'"),
    ],
)
def test_a_bad_command_line_is_one_error_line(capsys, argv, message):
    assert error_line(capsys, argv).startswith(f"error: {message}")


def test_sweep_checks_every_value_before_the_first_run(capsys, tmp_path):
    argv = ["sweep", "--param", "hidden", "--values", "8", "-5", "--out", str(tmp_path / "s")]
    line = error_line(capsys, argv)
    assert line == "error: argument --hidden: must be at least 1, got -5"
    assert not (tmp_path / "s").exists()


def test_a_run_folder_of_another_model_names_the_way_on(capsys, tmp_path):
    """train into OUT where last.pt holds another model: one line that says what
    differs and names --restart, and OUT's config.yaml still the old run's."""
    run = ["train", "--examples", "60", "--epochs", "1", "--no-progress", "--out", str(tmp_path)]
    cli.main([*run, "--hidden", "16"])
    config = (tmp_path / "config.yaml").read_text()
    capsys.readouterr()
    line = error_line(capsys, [*run, "--hidden", "24"])
    assert line.startswith(f"error: {tmp_path / 'last.pt'} was written for another model")
    assert "hidden_size 16 there, 24 here" in line and "--restart" in line
    assert (tmp_path / "config.yaml").read_text() == config
    cli.main([*run, "--hidden", "24", "--restart"])
    assert "hidden-size: 24" in (tmp_path / "config.yaml").read_text()


def test_translate_output_into_a_missing_folder_makes_it(capsys, tmp_path):
    """As docs/usage.md says (and train --out does)."""
    path = tsv(tmp_path, "".join(f"w{i}\tW{i}\n" for i in range(8)).encode())
    cli.main(train_on(path) + ["--out", str(tmp_path / "run"), "--hidden", "8"])
    (tmp_path / "in.txt").write_text("w1\nw2 w3\n")
    output = tmp_path / "new" / "folder" / "out.txt"
    translate = ["translate", "--checkpoint", str(tmp_path / "run" / "best.pt"), "--no-progress"]
    cli.main([*translate, "--input", str(tmp_path / "in.txt"), "--output", str(output)])
    assert len(output.read_text().splitlines()) == 2


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


# ---------------------------------------------------------------- config files


def config(tmp_path, text: str) -> str:
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return str(path)


def test_malformed_yaml_names_the_line(capsys, tmp_path):
    path = config(tmp_path, "task: tsv\nhidden: [64\n")
    line = error_line(capsys, ["train", "--config", path])
    assert line.startswith(f"error: {path}, line 3, column 1: not valid YAML")


def test_an_unknown_config_key_is_named(capsys, tmp_path):
    path = config(tmp_path, "task: tsv\nhiden: 64\n")
    line = error_line(capsys, ["train", "--config", path, "--out", str(tmp_path / "run")])
    assert line == f"error: {path}: unknown option 'hiden' (did you mean 'hidden'?)"
    assert not (tmp_path / "run").exists()


def test_a_bad_config_value_is_named(capsys, tmp_path):
    path = config(tmp_path, "hidden: -5\n")
    line = error_line(capsys, ["train", "--config", path])
    assert line == f"error: {path}: hidden: argument --hidden: must be at least 1, got -5"


def test_a_missing_config_file(capsys, tmp_path):
    line = error_line(capsys, ["train", "--config", str(tmp_path / "none.yaml")])
    assert (
        line == f"error: {tmp_path / 'none.yaml'}: cannot read the file (No such file or directory)"
    )


# ---------------------------------------------------------------- subwords


def test_a_subword_vocabulary_larger_than_the_data_allows(capsys, tmp_path):
    """A unigram model of the English side of the shipped sample's training
    split has at most 77 pieces (measured: the sample is tiny), and the error says so."""
    argv = ["train", "--task", "tsv", "--tokenizer", "sentencepiece", "--out", str(tmp_path / "r")]
    line = error_line(capsys, [*argv, "--subword-vocab-size", "5000"])
    assert line == (
        "error: subword vocabulary size 5000 is too large for the source text: a unigram"
        " model of it has at most 77 pieces; use --subword-vocab-size 77 or less"
    )
    assert not (tmp_path / "r").exists()


def test_subwords_are_for_text(capsys):
    line = error_line(capsys, ["train", "--task", "arithmetic", "--tokenizer", "sentencepiece"])
    assert line == "error: --tokenizer sentencepiece is for text: use it with --task tsv"


# ---------------------------------------------------------------- file translation


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny")
    tiny = ["--examples", "60", "--epochs", "1", "--hidden", "8", "--embedding", "8"]
    cli.main(["train", *tiny, "--no-progress", "--out", str(out)])
    return out / "best.pt"


def translate_file(checkpoint, source, output):
    return [
        "translate",
        "--checkpoint",
        str(checkpoint),
        "--input",
        str(source),
        "--output",
        output,
    ]


def test_an_unwritable_translation_output_leaves_everything_as_it_was(capsys, tmp_path, checkpoint):
    before = checkpoint.read_bytes()
    source = tmp_path / "in.txt"
    source.write_text("w1 w2\n")
    blocker = tmp_path / "file"
    blocker.write_text("")
    line = error_line(capsys, translate_file(checkpoint, source, str(blocker / "out.txt")))
    assert line.startswith("error: ") and str(blocker) in line
    for protected in (checkpoint, source):
        line = error_line(capsys, translate_file(checkpoint, source, str(protected)))
        assert (
            line
            == f"error: {protected}: the output would overwrite {protected}; choose another path"
        )
    assert checkpoint.read_bytes() == before and source.read_text() == "w1 w2\n"


def test_a_failed_translation_keeps_the_previous_output(capsys, tmp_path, checkpoint):
    source, output = tmp_path / "in.txt", tmp_path / "out.txt"
    source.write_bytes(b"w1 w2\ncaf\xe9\n")
    output.write_text("earlier translations\n")
    line = error_line(capsys, translate_file(checkpoint, source, str(output)))
    assert line.startswith(f"error: {source}, line 2: not UTF-8 (byte 0xe9")
    assert output.read_text() == "earlier translations\n"
    assert {p.name for p in tmp_path.iterdir()} == {"in.txt", "out.txt"}  # no temporary file


def test_output_needs_input(capsys, checkpoint):
    line = error_line(capsys, ["translate", "--checkpoint", str(checkpoint), "--output", "x.txt"])
    assert line == "error: --output needs --input (the file to translate)"


def test_tensorboard_missing_is_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails
    argv = ["train", "--examples", "60", "--epochs", "1", "--tensorboard", "--no-progress"]
    line = error_line(capsys, [*argv, "--out", str(tmp_path / "run")])
    assert line.startswith("error: --tensorboard needs the tensorboard package (")
    assert line.endswith("): pip install tensorboard")
    assert not (tmp_path / "run").exists()
