"""YAML config files for train: entries become command-line tokens that the
parser checks (and the command line overrides), bad files and values end in one
InputError naming the file and the entry, and a written config reads back to
the same options."""

import argparse

import pytest

from seq2seq_ext.errors import InputError
from seq2seq_ext.nmt import cli
from seq2seq_ext.nmt.config_file import config_arguments, write_config


def small_parser() -> argparse.ArgumentParser:
    """One option of each kind config_arguments tells apart, one required."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    parser.add_argument("--name", required=True)
    parser.add_argument("--shuffle", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--ratios", type=float, nargs="+", default=[1.0])
    parser.add_argument("--size", type=int, nargs=2, default=[4, 4])
    parser.add_argument("--cell", choices=("gru", "lstm"), default="gru")
    parser.add_argument("--amp", action="store_true")
    parser.add_argument("--no-cache", dest="cache", action="store_false")
    parser.add_argument("--hidden", type=cli.POSITIVE_INT, default=8)
    return parser


def config(tmp_path, text, name="config.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def tokens_of(tmp_path, text, parser=None):
    return config_arguments(config(tmp_path, text), parser or cli.train_parser())


def parsed(tmp_path, text, command_line=()):
    parser = cli.train_parser()
    return parser.parse_args([*config_arguments(config(tmp_path, text), parser), *command_line])


def error_of(tmp_path, text, parser=None) -> str:
    path = config(tmp_path, text)
    with pytest.raises(InputError) as error:
        config_arguments(path, parser or cli.train_parser())
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    return message


# ------------------------------------------------------------------ round trip
def test_written_config_reads_back_to_the_same_options(tmp_path):
    parser = cli.train_parser()
    args = parser.parse_args(
        ["--hidden", "32", "--lr", "0.000123456789", "--teacher-forcing", "1.0", "0.25"]
        + ["--bidirectional", "--max-pairs", "7", "--data", "-odd name.tsv", "--no-progress"]
    )
    path = tmp_path / "run" / "nested" / "config.yaml"
    write_config(path, args, parser)
    text = path.read_text(encoding="utf-8")
    assert "max-pairs: 7" in text and "max_pairs" not in text
    assert "help" not in text
    assert "amp:" not in text  # None: left at the default
    assert parser.parse_args(config_arguments(path, parser)) == args


@pytest.mark.parametrize(
    "command_line",
    [[], ["--no-shuffle", "--amp", "--no-cache", "--cell", "lstm", "--size", "2", "3"]],
    ids=["defaults", "changed"],
)
def test_round_trip_of_each_kind_of_option(tmp_path, command_line):
    parser = small_parser()
    args = parser.parse_args(["--config", "x.yaml", "--name", "n", *command_line])
    write_config(tmp_path / "config.yaml", args, parser)
    text = (tmp_path / "config.yaml").read_text(encoding="utf-8")
    assert "config:" not in text
    again = parser.parse_args(config_arguments(tmp_path / "config.yaml", parser))
    assert vars(again) == {**vars(args), "config": None}


# ------------------------------------------------------------------ values
def test_the_command_line_overrides_the_file(tmp_path):
    assert parsed(tmp_path, "hidden: 32\nlayers: 2\n", ["--hidden", "64"]).hidden == 64
    assert parsed(tmp_path, "hidden: 32\nlayers: 2\n", ["--hidden", "64"]).layers == 2
    assert parsed(tmp_path, "hidden: 32\n").hidden == 32
    parser = small_parser()
    from_file = config_arguments(config(tmp_path, "shuffle: false\ncell: lstm\n"), parser)
    assert parser.parse_args([*from_file, "--shuffle", "--name", "n"]).shuffle is True


def test_dashes_or_underscores(tmp_path):
    assert tokens_of(tmp_path, "max-pairs: 5\n") == tokens_of(tmp_path, "max_pairs: 5\n")
    assert parsed(tmp_path, "max_pairs: 5\nbatch_size: 3\n").batch_size == 3
    message = error_of(tmp_path, "max-pairs: 5\nmax_pairs: 6\n")
    assert "max_pairs: the same option as max-pairs" in message


def test_numbers_keep_their_precision(tmp_path):
    assert parsed(tmp_path, "lr: 0.1234567890123456789\n").lr == 0.1234567890123456789
    assert parsed(tmp_path, "lr: 1e-3\n").lr == 1e-3  # YAML 1.1 reads it as text
    assert parsed(tmp_path, "lr: 3.0e-4\n").lr == 3e-4
    assert parsed(tmp_path, "dropout: 0\n").dropout == 0.0


def test_lists_for_options_taking_several_values(tmp_path):
    assert parsed(tmp_path, "teacher-forcing: [1.0, 0.5]\n").teacher_forcing == [1.0, 0.5]
    assert parsed(tmp_path, "teacher-forcing: 0.5\n").teacher_forcing == [0.5]
    assert parsed(tmp_path, "teacher-forcing:\n- 0.9\n- 0.1\n").teacher_forcing == [0.9, 0.1]
    assert "expected a list of 2 values, got 3" in error_of(
        tmp_path, "size: [1, 2, 3]\n", small_parser()
    )
    assert "expected at least one argument" in error_of(tmp_path, "teacher-forcing: []\n")
    assert "expected a value, got a mapping" in error_of(
        tmp_path, "ratios: [{a: 1}]\n", small_parser()
    )


def test_booleans(tmp_path):
    assert parsed(tmp_path, "bidirectional: true\n").bidirectional is True
    assert parsed(tmp_path, "bidirectional: false\n").bidirectional is False
    assert tokens_of(tmp_path, "shuffle: false\namp: false\n", small_parser()) == ["--no-shuffle"]
    assert tokens_of(tmp_path, "shuffle: yes\namp: on\n", small_parser()) == ["--shuffle", "--amp"]
    assert tokens_of(tmp_path, "no-cache: true\n", small_parser()) == ["--no-cache"]
    assert "expected true or false, got 'maybe'" in error_of(tmp_path, "no-progress: maybe\n")
    assert "expected true or false, got 1" in error_of(tmp_path, "shuffle: 1\n", small_parser())


def test_null_leaves_the_default(tmp_path):
    assert tokens_of(tmp_path, "hidden: null\nbidirectional: ~\nteacher-forcing:\n") == []
    assert parsed(tmp_path, "hidden: null\n").hidden == cli.train_parser().parse_args([]).hidden


def test_a_value_starting_with_a_dash_is_a_value(tmp_path):
    assert parsed(tmp_path, "data: -x.tsv\nseed: -3\n").data == "-x.tsv"
    assert parsed(tmp_path, "seed: -3\n").seed == -3


# ------------------------------------------------------------------ bad entries
def test_unknown_option_names_the_closest(tmp_path):
    path = config(tmp_path, "hidden: 3\nhiden: 4\n")
    with pytest.raises(InputError, match="unknown option 'hiden' \\(did you mean 'hidden'\\?\\)"):
        config_arguments(path, cli.train_parser())
    assert error_of(tmp_path, "zzzz: 1\n").endswith("unknown option 'zzzz'")
    assert "unknown option 'help'" in error_of(tmp_path, "help: true\n")
    assert "did you mean 'shuffle'" in error_of(tmp_path, "no-shuffle: true\n", small_parser())


def test_a_config_file_names_no_other(tmp_path):
    message = error_of(tmp_path, "config: other.yaml\n", small_parser())
    assert "config: a config file cannot name another" in message


def test_value_out_of_range_names_the_entry(tmp_path):
    path = config(tmp_path, "layers: 2\nhidden: -5\n")
    with pytest.raises(InputError) as error:
        config_arguments(path, cli.train_parser())
    assert str(error.value) == f"{path}: hidden: argument --hidden: must be at least 1, got -5"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("cell: banana\n", "cell: argument --cell: invalid choice: 'banana'"),
        ("epochs: many\n", "epochs: argument --epochs: invalid int value: 'many'"),
        ("lr: 0\n", "lr: argument --lr: must be above 0, got 0"),
        ("teacher-forcing: [1, x]\n", "invalid float value: 'x'"),
        ("hidden: [1, 2]\n", "hidden: expected a value, got a list"),
        ("hidden: {a: 1}\n", "hidden: expected a value, got a mapping"),
        ("amp: yes\n", "amp: expected a value, got a boolean"),
    ],
)
def test_bad_values_name_the_entry(tmp_path, text, expected):
    assert expected in error_of(tmp_path, text)


def test_entries_are_checked_while_required_options_are_absent(tmp_path):
    assert tokens_of(tmp_path, "hidden: 3\n", small_parser()) == ["--hidden=3"]
    assert "must be at least 1" in error_of(tmp_path, "hidden: 0\n", small_parser())


# ------------------------------------------------------------------ bad files
def test_malformed_yaml_names_the_line(tmp_path):
    message = error_of(tmp_path, "hidden: 3\nlayers: 2: 3\n")
    assert ", line 2, column 10: not valid YAML: mapping values are not allowed here" in message


def test_python_tags_are_not_run(tmp_path):
    message = error_of(tmp_path, "hidden: !!python/object/apply:os.getcwd []\n")
    assert "line 1" in message and "not valid YAML" in message


@pytest.mark.parametrize("text", ["- hidden\n- 3\n", "hidden\n", "3\n"])
def test_the_top_level_must_be_a_mapping(tmp_path, text):
    assert "expected a mapping of option: value" in error_of(tmp_path, text)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(InputError) as error:
        config_arguments(path, cli.train_parser())
    assert str(error.value) == f"{path}: cannot read the file (No such file or directory)"


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"hidden: 3\ndata: caf\xe9.tsv\n")
    with pytest.raises(InputError) as error:
        config_arguments(path, cli.train_parser())
    assert str(error.value).startswith(f"{path}, line 2: not UTF-8 (byte 0xe9)")


@pytest.mark.parametrize("text", ["", "# nothing set\n", "---\n"])
def test_an_empty_file_sets_nothing(tmp_path, text):
    assert tokens_of(tmp_path, text) == []
