"""YAML config files for train: entries become command-line tokens that the
parser checks (and the command line overrides), bad files and values end in one
InputError naming the file and the entry, and a written config reads back to
the same options. The run config: one set of defaults, its sectioned files and
the flat ones of earlier versions loading alike, command-line overrides."""

import argparse

import pytest
import yaml
from conftest import REPO

from seq2seq_ext.errors import InputError
from seq2seq_ext.models import Seq2SeqConfig
from seq2seq_ext.nmt import (
    DataConfig,
    DecodeConfig,
    RunConfig,
    TrainConfig,
    cli,
    load_config,
    model_config,
    options,
    with_settings,
    write_run_config,
)
from seq2seq_ext.nmt.config_file import config_arguments, write_config
from seq2seq_ext.nmt.options import run_config


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
    parser.add_argument("--hidden", type=options.POSITIVE_INT, default=8)
    return parser


def config(tmp_path, text, name="config.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def tokens_of(tmp_path, text, parser=None):
    return config_arguments(config(tmp_path, text), parser or options.train_parser())


def parsed(tmp_path, text, command_line=()):
    parser = options.train_parser()
    return parser.parse_args([*config_arguments(config(tmp_path, text), parser), *command_line])


def error_of(tmp_path, text, parser=None, sections=None) -> str:
    path = config(tmp_path, text)
    with pytest.raises(InputError) as error:
        config_arguments(path, parser or options.train_parser(), sections)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    return message


# ------------------------------------------------------------------ round trip
def test_written_config_reads_back_to_the_same_options(tmp_path):
    parser = options.train_parser()
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
    assert parsed(tmp_path, "hidden: null\n").hidden == options.train_parser().parse_args([]).hidden


def test_a_value_starting_with_a_dash_is_a_value(tmp_path):
    assert parsed(tmp_path, "data: -x.tsv\nseed: -3\n").data == "-x.tsv"
    assert parsed(tmp_path, "seed: -3\n").seed == -3


# ------------------------------------------------------------------ bad entries
def test_unknown_option_names_the_closest(tmp_path):
    path = config(tmp_path, "hidden: 3\nhiden: 4\n")
    with pytest.raises(InputError, match="unknown option 'hiden' \\(did you mean 'hidden'\\?\\)"):
        config_arguments(path, options.train_parser())
    assert error_of(tmp_path, "zzzz: 1\n").endswith("unknown option 'zzzz'")
    assert "unknown option 'help'" in error_of(tmp_path, "help: true\n")
    assert "did you mean 'shuffle'" in error_of(tmp_path, "no-shuffle: true\n", small_parser())


def test_a_config_file_names_no_other(tmp_path):
    message = error_of(tmp_path, "config: other.yaml\n", small_parser())
    assert "config: a config file cannot name another" in message


def test_value_out_of_range_names_the_entry(tmp_path):
    path = config(tmp_path, "layers: 2\nhidden: -5\n")
    with pytest.raises(InputError) as error:
        config_arguments(path, options.train_parser())
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
        config_arguments(path, options.train_parser())
    assert str(error.value) == f"{path}: cannot read the file (No such file or directory)"


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"hidden: 3\ndata: caf\xe9.tsv\n")
    with pytest.raises(InputError) as error:
        config_arguments(path, options.train_parser())
    assert str(error.value).startswith(f"{path}, line 2: not UTF-8 (byte 0xe9)")


@pytest.mark.parametrize("text", ["", "# nothing set\n", "---\n"])
def test_an_empty_file_sets_nothing(tmp_path, text):
    assert tokens_of(tmp_path, text) == []


# ------------------------------------------------------------------ the run config
# configs/*.yaml as they were before the run config had sections (the flat form:
# every key a long option name), and a config.yaml that train wrote then.
FLAT_CONFIGS = {
    "reverse_words.yaml": "task: reverse_words\nexamples: 20000\nwords: 40\ncell: gru\n"
    "attention: bahdanau\nhidden: 256\nclip: 1.0\nepochs: 15\nout: runs/reverse_words\n",
    "arithmetic.yaml": "task: arithmetic\nexamples: 20000\ndigits: 2\ntokenizer: word\n"
    "cell: lstm\nbidirectional: true\nattention: luong-general\ninput-feeding: true\n"
    "hidden: 128\nepochs: 15\nout: runs/arithmetic\n",
    "translate_tsv.yaml": "task: tsv\ncell: gru\nbidirectional: true\nattention: bahdanau\n"
    "layers: 2\nhidden: 256\ndropout: 0.1\nbatch-size: 32\nepochs: 60\nbeam: 4\n"
    "out: runs/translate\n",
    "own_data.yaml": "task: tsv\ntrain-data: seq2seq_ext/nmt/data/samples/eng-fra.tsv\n"
    "tokenizer: sentencepiece\nsubword-vocab-size: 60\nsubword-type: unigram\ncell: gru\n"
    "bidirectional: true\nattention: bahdanau\nhidden: 256\ndropout: 0.1\nbatch-size: 32\n"
    "epochs: 40\nearly-stopping-metric: bleu\npatience: 5\nbeam: 4\nout: runs/own_data\n",
}
OLD_WRITTEN_CONFIG = """\
task: tsv
data: seq2seq_ext/nmt/data/samples/eng-fra.tsv
tokenizer: sentencepiece
subword-vocab-size: 60
subword-type: unigram
joint-vocab: false
examples: 20000
min-len: 3
max-len: 10
words: 40
digits: 3
cell: gru
attention: bahdanau
embedding: 64
hidden: 64
layers: 1
bidirectional: true
dropout: 0.1
input-feeding: false
backend: fused
epochs: 3
lr: 0.003
lr-schedule: cosine
batch-size: 32
clip: 1.0
teacher-forcing:
- 1.0
seed: 0
early-stopping-metric: bleu
patience: 5
tensorboard: true
restart: false
no-progress: true
device: cpu
debug: false
beam: 4
decode-len: 60
out: runs/own_data
"""


def test_one_set_of_defaults():
    """The run config's defaults are the command line's (which the examples'
    results were made with), whichever way it is made; the library's
    Seq2SeqConfig keeps its own."""
    cfg = RunConfig()
    assert load_config() == cfg == run_config(options.train_parser().parse_args([]))
    assert (cfg.train.lr, cfg.train.lr_schedule, cfg.train.epochs) == (3e-3, "cosine", 20)
    assert (cfg.train.batch_size, cfg.train.teacher_forcing, cfg.train.seed) == (64, (1.0, 1.0), 0)
    assert (cfg.model.hidden_size, cfg.model.embedding_size, cfg.model.attn_size) == (128, 64, 128)
    assert (cfg.model.cell, cfg.model.attention, cfg.model.num_layers) == ("gru", "bahdanau", 1)
    assert (cfg.data.task, cfg.data.examples, cfg.data.tokenizer_kind) == (
        "reverse_words",
        20000,
        "word",
    )
    assert (cfg.decode.beam, cfg.decode.decode_len, cfg.decode.weights) == (1, 60, "float32")
    assert (cfg.out, cfg.restart) == ("runs/train", False)
    assert TrainConfig() == cfg.train
    library = Seq2SeqConfig(5, 5)
    assert (library.hidden_size, library.embedding_size) == (256, 128)


@pytest.mark.parametrize("name", sorted(FLAT_CONFIGS))
def test_flat_config_files_load_as_the_sectioned_ones(tmp_path, name):
    flat = load_config(config(tmp_path, FLAT_CONFIGS[name]))
    assert flat == load_config(REPO / "configs" / name)
    assert flat != RunConfig()


def test_a_config_written_by_an_earlier_version_loads(tmp_path):
    cfg = load_config(config(tmp_path, OLD_WRITTEN_CONFIG))
    assert (cfg.train.epochs, cfg.model.hidden_size, cfg.train.progress) == (3, 64, False)
    assert (cfg.data.tokenizer, cfg.train.patience, cfg.train.tensorboard) == (
        "sentencepiece",
        5,
        True,
    )
    assert cfg.train.teacher_forcing == (1.0, 1.0) and cfg.decode.beam == 4


def changed_run_config() -> RunConfig:
    """Every section away from its defaults, every kind of field."""
    return RunConfig(
        data=DataConfig(task="tsv", data="-odd name.tsv", max_pairs=7, tokenizer="char"),
        model=model_config(hidden_size=32, num_layers=2, bidirectional=True, attn_size=12),
        train=TrainConfig(lr=0.000123456789, teacher_forcing=(1.0, 0.25), progress=False),
        decode=DecodeConfig(beam=3, length_penalty=0.6, weights="int8", batch_size=5),
        out="runs/x",
        device="cpu",
        restart=True,
    )


def test_written_run_config_has_sections_and_reads_back(tmp_path):
    cfg = changed_run_config()
    path = tmp_path / "run" / "config.yaml"
    write_run_config(path, cfg)
    written = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert list(written) == ["out", "device", "restart", "data", "model", "train", "decode"]
    assert written["model"]["hidden-size"] == 32 and written["train"]["progress"] is False
    assert written["decode"]["batch-size"] == 5 and written["train"]["teacher-forcing"] == [
        1.0,
        0.25,
    ]
    assert "src-vocab-size" not in written["model"] and "amp" not in written["train"]
    assert load_config(path) == cfg
    default = tmp_path / "default.yaml"
    write_run_config(default, RunConfig())
    assert (
        "attn-size" not in yaml.safe_load(default.read_text())["model"]
    )  # follows the hidden size
    assert load_config(default) == RunConfig()


def test_command_line_and_overrides_on_a_sectioned_file(tmp_path):
    path = config(tmp_path, "model:\n  hidden-size: 32\n  num_layers: 2\ntrain: {epochs: 3}\n")
    cfg = load_config(path, {"epochs": 4, "model": {"cell": "lstm"}}, ["--hidden", "64"])
    assert (cfg.model.hidden_size, cfg.model.attn_size, cfg.model.num_layers) == (64, 64, 2)
    assert (cfg.train.epochs, cfg.model.cell) == (4, "lstm")
    assert load_config(path, argv=["--epochs", "5"]).train.epochs == 5
    assert load_config(config(tmp_path, "model: {hidden: 16}\n", "a.yaml")).model.hidden_size == 16
    mixed = load_config(
        config(tmp_path, "data: x.tsv\ntask: tsv\ntrain: {progress: false}\n", "b.yaml")
    )
    assert (mixed.data.data, mixed.data.task, mixed.train.progress) == ("x.tsv", "tsv", False)
    arguments = cli.parse_arguments(["train", "--config", str(path), "--epochs", "9"])
    assert (arguments.hidden, arguments.layers, arguments.epochs) == (32, 2, 9)


def test_with_settings_checks_the_value_and_keeps_the_rest():
    cfg = changed_run_config()
    wider = with_settings(cfg, {"hidden": "48"})
    assert wider.model.hidden_size == 48 and wider.model.attn_size == 12  # given: kept
    assert with_settings(RunConfig(), {"hidden": 48}).model.attn_size == 48  # default: follows
    assert with_settings(cfg, {}) == cfg
    with pytest.raises(InputError, match="^sweep: hidden: argument --hidden: must be at least 1"):
        with_settings(cfg, {"hidden": -5}, "sweep")


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "model:\n  hiden-size: 3\n",
            "model: unknown setting 'hiden-size' (did you mean 'hidden-size'?)",
        ),
        (
            "model:\n  hidden-size: -5\n",
            "model.hidden-size: argument --hidden: must be at least 1, got -5",
        ),
        ("model: gru\n", "model: expected a mapping of setting: value, got str"),
        (
            "hidden: 3\nmodel: {hidden-size: 4}\n",
            "model.hidden-size: the same option as hidden; give it once",
        ),
        ("train: {progress: maybe}\n", "train.progress: expected true or false, got 'maybe'"),
        ("train: {teacher-forcing: [1, x]}\n", "invalid float value: 'x'"),
        ("decode: {weights: int4}\n", "decode.weights: argument --weights: invalid choice: 'int4'"),
        ("data: {src-vocab-size: 3}\n", "data: unknown setting 'src-vocab-size'"),
        ("model: {src-vocab-size: 3}\n", "model: unknown setting 'src-vocab-size'"),
    ],
)
def test_bad_sectioned_entries_are_named(tmp_path, text, expected):
    assert expected in error_of(tmp_path, text, sections=options.SECTIONS)
