"""The run config's fields as command-line options and config-file keys, in one
table (SETTINGS), and how a YAML file, overrides and a command line become a
RunConfig:

    cfg = load_config("configs/reverse_words.yaml", {"epochs": 5}, ["--device", "cpu"])
    write_run_config("runs/x/config.yaml", cfg)   # the sectioned form, read back the same

A config file is the sectioned form (``data:``, ``model:``, ``train:``,
``decode:`` mappings of their fields, and ``out``, ``device``, ``restart`` at
the top level) or the flat form of earlier versions (the options' long names at
the top level, ``hidden: 256``), or a mix; either is checked entry by entry by
the options' own parsers (config_file.py), and the command line overrides it.
An option's default is its field's default (config.py)."""

import argparse
from dataclasses import dataclass, replace
from typing import Mapping, Optional, Sequence

from ..models.config import ATTENTIONS, BACKENDS, CELLS
from ..models.inference import PRECISIONS
from .config import DataConfig, DecodeConfig, RunConfig, TrainConfig, model_config
from .config_file import config_arguments, mapping_arguments, write_config
from .data import TASKS, TOKENIZER_KINDS
from .data.subwords import SUBWORD_TYPES
from .trainer import EARLY_STOPPING_METRICS, LR_SCHEDULES


class OptionParser(argparse.ArgumentParser):
    """argparse's parser, but a command line it rejects (a bad value, an
    unknown option) ends as other bad input does: one ``error: ...`` line on
    stderr and exit status 1, not the usage text and status 2."""

    def error(self, message):
        hint = "" if message.startswith("argument ") else f" (see {self.prog} --help)"
        self.exit(1, f"error: {message}{hint}\n")


def _number(kind, minimum, minimum_allowed=True):
    """An argparse type: `kind` (int or float) at least `minimum` (above it
    where minimum_allowed is False), so a bad value ends in the parser's
    one-line error."""

    def parse(text):
        value = kind(text)
        if value < minimum or (value == minimum and not minimum_allowed):
            relation = "at least" if minimum_allowed else "above"
            raise argparse.ArgumentTypeError(f"must be {relation} {minimum}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in "invalid int value"
    return parse


POSITIVE_INT = _number(int, 1)
POSITIVE_FLOAT = _number(float, 0, minimum_allowed=False)
NON_NEGATIVE_FLOAT = _number(float, 0)
FLAG = {"action": argparse.BooleanOptionalAction}


@dataclass(frozen=True)
class Setting:
    """A field of the run config (`section` "" for RunConfig's own) and its
    option: `option` (without "--") stores into `dest` (argparse's keywords
    in `kwargs`)."""

    section: str
    field: str
    option: str
    dest: str
    kwargs: dict


def _setting(section, name, option=None, dest=None, **kwargs) -> Setting:
    option = option or name.replace("_", "-")
    return Setting(section, name, option, dest or option.replace("-", "_"), kwargs)


SECTION_HEADINGS = {"data": "data", "model": "model", "train": "training", "decode": "decoding"}
SETTINGS = (
    _setting("data", "task", choices=TASKS),
    _setting(
        "data",
        "train_data",
        metavar="FILE",
        help="the training pairs (task tsv): a UTF-8 TSV file, one source<TAB>target pair a"
        " line (further columns, such as tatoeba's attribution, are ignored), or two parallel"
        " text files, one sentence a line, as SOURCE,TARGET (e.g. train.en,train.fr); default:"
        " the English-French sample",
    ),
    _setting(
        "data",
        "valid_data",
        metavar="FILE",
        help="the validation pairs, as --train-data's; default: 10%% of --train-data's pairs",
    ),
    _setting(
        "data",
        "test_data",
        metavar="FILE",
        help="the test pairs, as --train-data's; default: 10%% of --train-data's pairs",
    ),
    _setting("data", "data", metavar="FILE", help="the older name of --train-data"),
    _setting(
        "data",
        "max_pairs",
        type=POSITIVE_INT,
        help="read at most this many training pairs (task tsv)",
    ),
    _setting(
        "data",
        "tokenizer",
        choices=TOKENIZER_KINDS,
        help="default: sentencepiece with a subword model, else word for reverse_words and tsv,"
        " char otherwise; sentencepiece: subwords (task tsv), the models given or learnt from"
        " the training split, stored in the checkpoint",
    ),
    _setting(
        "data",
        "subword_model",
        metavar="FILE",
        help="sentencepiece: a model file (sentencepiece's .model) for both sides, used as it is",
    ),
    _setting(
        "data",
        "source_subword_model",
        metavar="FILE",
        help="sentencepiece: the source side's model file (the target's: given or learnt)",
    ),
    _setting(
        "data",
        "target_subword_model",
        metavar="FILE",
        help="sentencepiece: the target side's model file (the source's: given or learnt)",
    ),
    _setting(
        "data",
        "subword_vocab_size",
        type=POSITIVE_INT,
        help="sentencepiece: pieces per model learnt (at most what the data allows)",
    ),
    _setting("data", "subword_type", choices=SUBWORD_TYPES),
    _setting(
        "data",
        "joint_vocab",
        **FLAG,
        help="sentencepiece: learn one model for source and target text",
    ),
    _setting("data", "examples", type=POSITIVE_INT, help="generated pairs"),
    _setting("data", "min_len", type=POSITIVE_INT, help="words per sentence (reverse_words)"),
    _setting("data", "max_len", type=POSITIVE_INT, help="words per sentence (reverse_words)"),
    _setting("data", "words", type=POSITIVE_INT, help="vocabulary size (reverse_words)"),
    _setting("data", "digits", type=POSITIVE_INT, help="digits per number"),
    _setting("data", "max_tokens", type=POSITIVE_INT, help="drop longer pairs"),
    _setting("model", "cell", choices=CELLS),
    _setting("model", "attention", choices=ATTENTIONS),
    _setting("model", "embedding_size", "embedding", type=POSITIVE_INT),
    _setting("model", "hidden_size", "hidden", type=POSITIVE_INT),
    _setting("model", "num_layers", "layers", type=POSITIVE_INT),
    _setting("model", "bidirectional", **FLAG),
    _setting("model", "dropout", type=NON_NEGATIVE_FLOAT),
    _setting("model", "input_feeding", **FLAG),
    _setting(
        "model", "attn_size", type=POSITIVE_INT, help="bahdanau's units (default: --hidden's)"
    ),
    _setting("model", "backend", choices=BACKENDS),
    _setting("train", "epochs", type=POSITIVE_INT),
    _setting("train", "lr", type=POSITIVE_FLOAT),
    _setting("train", "lr_schedule", choices=LR_SCHEDULES),
    _setting(
        "train",
        "min_lr_ratio",
        type=NON_NEGATIVE_FLOAT,
        help="cosine: the last epoch's learning rate over --lr",
    ),
    _setting("train", "batch_size", type=POSITIVE_INT),
    _setting("train", "clip", type=POSITIVE_FLOAT),
    _setting(
        "train",
        "teacher_forcing",
        type=float,
        nargs="+",
        metavar="RATIO",
        help="one ratio, or the first and last epoch's",
    ),
    _setting("train", "amp", choices=("bf16", "fp16")),
    _setting("train", "seed", type=int),
    _setting(
        "train",
        "early_stopping_metric",
        choices=EARLY_STOPPING_METRICS,
        help="the validation metric that picks best.pt (and stops early with --patience);"
        " bleu and exact_match decode the validation split greedily",
    ),
    _setting(
        "train",
        "patience",
        type=POSITIVE_INT,
        help="stop after this many epochs without a better validation metric",
    ),
    _setting(
        "train",
        "tensorboard",
        **FLAG,
        help="log scalars and a validation sentence's attention to OUT/tensorboard"
        " (needs the tensorboard package)",
    ),
    _setting(
        "train",
        "progress",
        "no-progress",
        "progress",
        action="store_false",
        help="no progress bars",
    ),
    _setting("decode", "beam", type=POSITIVE_INT, help="beam size (1: greedy)"),
    _setting("decode", "decode_len", type=POSITIVE_INT, help="longest output"),
    _setting("decode", "length_penalty", type=NON_NEGATIVE_FLOAT, help="beam: alpha of GNMT's"),
    _setting(
        "decode",
        "weights",
        choices=PRECISIONS,
        help="precision of the decoder's matrices (bfloat16, int8: CPU only, faster one "
        "sentence at a time)",
    ),
    _setting(
        "decode",
        "batch_size",
        "decode-batch-size",
        type=POSITIVE_INT,
        metavar="N",
        help="sentences decoded at once",
    ),
    _setting("", "out"),
    _setting("", "device"),
    _setting(
        "", "restart", action="store_true", help="ignore OUT/last.pt instead of resuming from it"
    ),
)
# section -> {key: option}: a section's keys in config files are its fields'
# names, and the model's options' names too (hidden: as hidden-size).
SECTIONS = {
    name: {
        **{s.field.replace("_", "-"): s.option for s in SETTINGS if s.section == name},
        **{s.option: s.option for s in SETTINGS if s.section == name == "model"},
    }
    for name in SECTION_HEADINGS
}
_DEFAULTS = RunConfig()


def _section(cfg: RunConfig, name: str):
    return getattr(cfg, name) if name else cfg


def _default(setting: Setting):
    if setting.field == "attn_size":
        return None  # the hidden size
    value = getattr(_section(_DEFAULTS, setting.section), setting.field)
    return list(value) if isinstance(value, tuple) else value


def _add(parser, setting: Setting, option: Optional[str] = None) -> None:
    kwargs = dict(setting.kwargs)
    key = setting.field.replace("_", "-")
    if setting.section and key != (option or setting.option):  # the config file's name
        value = ": false" if kwargs.get("action") == "store_false" else ""
        kwargs["help"] = f"{kwargs.get('help', '')} [{setting.section}: {key}{value}]".strip()
    parser.add_argument(
        f"--{option or setting.option}", dest=setting.dest, default=_default(setting), **kwargs
    )


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Every run-config option, grouped by section."""
    for section, heading in SECTION_HEADINGS.items():
        group = parser.add_argument_group(heading)
        for setting in SETTINGS:
            if setting.section == section:
                _add(group, setting)
    for setting in SETTINGS:
        if not setting.section:
            _add(parser, setting)
    add_debug_argument(parser)


def add_decode_arguments(parser: argparse.ArgumentParser) -> None:
    """What evaluate and translate set: the decode section (its batch size as
    --batch-size) and the device."""
    for setting in SETTINGS:
        if setting.section == "decode":
            _add(parser, setting, "batch-size" if setting.field == "batch_size" else None)
        elif setting.field == "device":
            _add(parser, setting)
    add_debug_argument(parser)


def add_debug_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--debug", action="store_true", help="on bad input, show the traceback, not one line"
    )


def train_parser() -> argparse.ArgumentParser:
    """A parser of train's options alone (what a config file may hold)."""
    parser = OptionParser(prog="python -m seq2seq_ext train")
    add_train_arguments(parser)
    return parser


def is_setting(name: str) -> bool:
    """Whether `name` (dashes or underscores) is a train option."""
    return any(s.option == name.replace("_", "-") for s in SETTINGS)


# ------------------------------------------------------------------ RunConfig
def run_config(args: argparse.Namespace) -> RunConfig:
    """The RunConfig of parsed options; an option `args` lacks takes its default."""
    values = {name: {} for name in ("", *SECTION_HEADINGS)}
    for setting in SETTINGS:
        value = getattr(args, setting.dest) if hasattr(args, setting.dest) else _default(setting)
        values[setting.section][setting.field] = value
    return RunConfig(
        data=DataConfig(**values["data"]),
        model=model_config(**values["model"]),
        train=TrainConfig(**values["train"]),
        decode=DecodeConfig(**values["decode"]),
        **values[""],
    )


def namespace_of(cfg: RunConfig) -> argparse.Namespace:
    """`cfg` as parsed options (run_config's inverse); the attention size is
    left out (None) where it is the hidden size, its default."""
    values = {}
    for setting in SETTINGS:
        value = getattr(_section(cfg, setting.section), setting.field)
        if setting.field == "attn_size" and value == cfg.model.hidden_size:
            value = None
        values[setting.dest] = list(value) if isinstance(value, tuple) else value
    return argparse.Namespace(**values)


def load_config(
    path=None, overrides: Optional[Mapping] = None, argv: Sequence[str] = ()
) -> RunConfig:
    """The RunConfig of the YAML file at `path` (sectioned or flat; none: the
    defaults), then `overrides` (a mapping as a config file holds), then
    `argv` (train's command-line options) on top. A bad file or override
    raises InputError naming it and the entry; a bad option in `argv` ends
    in OptionParser's one-line error."""
    parser = train_parser()
    tokens = config_arguments(path, parser, SECTIONS) if path is not None else []
    if overrides:
        tokens += mapping_arguments(dict(overrides), parser, "overrides", SECTIONS)
    return run_config(parser.parse_args([*tokens, *map(str, argv)]))


def with_settings(cfg: RunConfig, settings: Mapping, source: str = "settings") -> RunConfig:
    """`cfg` with `settings` (a mapping as a config file holds, values checked
    as the file's) in place of its own."""
    parser = train_parser()
    tokens = mapping_arguments(dict(settings), parser, source, SECTIONS)
    changed = run_config(parser.parse_args(tokens, namespace=namespace_of(cfg)))
    stop = cfg.train.stop_after_epoch  # the one field that is no setting
    return replace(changed, train=replace(changed.train, stop_after_epoch=stop))


def write_run_config(path, cfg: RunConfig, notes: Sequence[str] = ()) -> None:
    """`cfg` as a sectioned YAML file that load_config reads back to it, with
    `notes` (e.g. where each split came from) as comment lines at its top."""
    write_config(path, namespace_of(cfg), train_parser(), SECTIONS, notes)
