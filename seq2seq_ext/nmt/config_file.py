"""YAML config files for ``train --config FILE.yaml``: a mapping of option names
(``max-pairs`` or ``max_pairs``) to values, or, given `sections` (the run
config's: options.SECTIONS), mappings of a section's settings under the
section's name (``model: {hidden-size: 256}``). The entries become command-line
tokens, parsed before the real command line so that it overrides them, and
every value passes the parser's own checks; a run's resolved options are
written back as a config file that reproduces them.

`sections` maps a section's name to its keys (dashed) and the long option
(without ``--``) each sets; a section's entry holds the option's value (its
``dest``), so ``progress: false`` gives ``--no-progress`` where that option
stores False in progress."""

import argparse
import copy
import difflib
from pathlib import Path

import yaml

from ..atomic_file import atomic_output
from ..errors import InputError

CONFIG_OPTION = "config"  # the option that names the config file, never an entry of one
_NOT_SETTINGS = (argparse._HelpAction, argparse._VersionAction)
_NOT_A_SINGLE_VALUE = {
    bool: "a boolean (quote it to mean the text)",
    list: "a list",
    dict: "a mapping",
    type(None): "null",
}


def config_arguments(path, parser: argparse.ArgumentParser, sections=None) -> list[str]:
    """The YAML file's entries as command-line tokens of `parser`, in the file's
    order. An unknown option, a value of the wrong kind or one the parser rejects
    raises InputError naming the file and the entry; null leaves the default."""
    return mapping_arguments(read_mapping(path), parser, str(path), sections)


def mapping_arguments(entries: dict, parser, source: str, sections=None) -> list[str]:
    """config_arguments of a mapping read already (or given in Python);
    `source` names it in errors."""
    options = _options_by_name(parser)
    checker = _checking_copy(parser)
    tokens, keys_of = [], {}
    for key, value, (option, action), by_dest in _entries(entries, options, source, sections):
        where = f"{source}: {key}"
        if action in keys_of:
            raise InputError(f"{where}: the same option as {keys_of[action]}; give it once")
        keys_of[action] = key
        entry_tokens = _entry_tokens(option, action, value, where, by_dest)
        _check(checker, entry_tokens, where)
        tokens += entry_tokens
    return tokens


def _entries(entries: dict, options: dict, source: str, sections):
    """(key as the errors name it, value, (option, action), whether the value is
    the option's dest value) of each entry, a section's flattened."""
    sections = sections or {}
    for key, value in entries.items():
        section = _dashed(key)
        if section not in sections or (section in options and not isinstance(value, dict)):
            yield key, value, _option(options, key, source), False
            continue
        if value is None:
            continue
        if not isinstance(value, dict):
            raise InputError(
                f"{source}: {key}: expected a mapping of setting: value, got {_kind(value)}"
            )
        for name, setting in value.items():
            option = _section_option(sections[section], name, f"{source}: {key}")
            yield f"{key}.{name}", setting, options[option], True


def _section_option(keys: dict, name, where: str) -> str:
    """The option a section's key sets; InputError for an unknown key."""
    if _dashed(name) in keys:
        return _dashed(keys[_dashed(name)])
    guesses = difflib.get_close_matches(_dashed(name), keys, n=1)
    hint = f" (did you mean '{guesses[0]}'?)" if guesses else ""
    raise InputError(f"{where}: unknown setting '{name}'{hint}")


def _kind(value) -> str:
    return _NOT_A_SINGLE_VALUE.get(type(value), type(value).__name__)


def write_config(
    path, args: argparse.Namespace, parser: argparse.ArgumentParser, sections=None, notes=()
):
    """Every option of `parser` with its value in `args`, as YAML that
    config_arguments reads back to the same args (options whose value is None
    left out), a section's under its name (by the first of its keys that sets
    it), after `notes` as comment lines; the file is written whole or not at
    all, its folder made if missing."""
    section_of = {}
    for section, keys in (sections or {}).items():
        for key, option in keys.items():
            section_of.setdefault(_dashed(option), (section, key))
    settings, grouped = {}, {section: {} for section in sections or {}}
    for action in _settings(parser):
        value = getattr(args, action.dest, None)
        if value is None:
            continue
        option = _long_options(action)[0][2:]
        if option in section_of:
            section, key = section_of[option]
            grouped[section][key] = _yaml_value(value)
            continue
        if action.nargs == 0 and not isinstance(action, argparse.BooleanOptionalAction):
            value = value == action.const  # true: the flag was given
        settings[option] = _yaml_value(value)
    settings.update((section, values) for section, values in grouped.items() if values)
    with atomic_output(path) as file:
        file.writelines(f"# {line}\n" for line in notes)
        yaml.safe_dump(settings, file, sort_keys=False, allow_unicode=True)


def read_mapping(path) -> dict:
    """The YAML file's top-level mapping ({} for an empty file)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise InputError(f"{path}: cannot read the file ({error.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise InputError(
            f"{path}, line {line}: not UTF-8 (byte 0x{raw[error.start]:02x}); convert the file"
        ) from None
    try:
        entries = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else path
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise InputError(f"{where}: not valid YAML: {problem}") from None
    if entries is None:
        return {}
    if not isinstance(entries, dict):
        raise InputError(
            f"{path}: expected a mapping of option: value, got {type(entries).__name__}"
        )
    return entries


def _settings(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The parser's actions a config file may set: those with a long option,
    except help, version and the config option itself."""
    return [
        action
        for action in parser._actions
        if not isinstance(action, _NOT_SETTINGS)
        and _long_options(action)
        and f"--{CONFIG_OPTION}" not in action.option_strings
    ]


def _long_options(action: argparse.Action) -> list[str]:
    """The action's ``--name`` options, without BooleanOptionalAction's ``--no-name``."""
    return [
        option
        for option in action.option_strings
        if option.startswith("--")
        and not (
            isinstance(action, argparse.BooleanOptionalAction)
            and option.startswith("--no-")
            and f"--{option[5:]}" in action.option_strings
        )
    ]


def _options_by_name(parser: argparse.ArgumentParser) -> dict[str, tuple[str, argparse.Action]]:
    """Each settable option's name (dashes for underscores) -> (the option, its action)."""
    return {
        _dashed(option[2:]): (option, action)
        for action in _settings(parser)
        for option in _long_options(action)
    }


def _dashed(name) -> str:
    return str(name).replace("_", "-")


def _option(options: dict, key, path) -> tuple[str, argparse.Action]:
    """The option and action of a key of the file; InputError for an unknown key."""
    name = _dashed(key)
    if name in options:
        return options[name]
    if name == CONFIG_OPTION:
        raise InputError(f"{path}: {key}: a config file cannot name another config file")
    guesses = difflib.get_close_matches(name, options, n=1)
    hint = f" (did you mean '{guesses[0]}'?)" if guesses else ""
    raise InputError(f"{path}: unknown option '{key}'{hint}")


def _entry_tokens(option: str, action: argparse.Action, value, where: str, by_dest=False):
    """One entry's command-line tokens: a flag for true (`by_dest`: for the
    value the flag stores), values after the option for an option taking
    several, ``--option=value`` for one taking one (so a value starting with
    '-' is not taken for an option)."""
    if value is None:
        return []
    if action.nargs == 0:
        if not isinstance(value, bool):
            raise InputError(f"{where}: expected true or false, got {value!r}")
        if by_dest and not isinstance(action, argparse.BooleanOptionalAction):
            value = value == action.const
        if value:
            return [option]
        if isinstance(action, argparse.BooleanOptionalAction):
            return [f"--no-{option[2:]}"]
        return []
    if action.nargs in (None, argparse.OPTIONAL):
        return [f"{option}={_text(value, where)}"]
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if isinstance(action.nargs, int) and len(values) != action.nargs:
        raise InputError(f"{where}: expected a list of {action.nargs} values, got {len(values)}")
    return [option, *(_text(item, where) for item in values)]


def _text(value, where: str) -> str:
    """A YAML scalar as the text the parser converts (a float's repr, at full precision)."""
    if type(value) in _NOT_A_SINGLE_VALUE:
        raise InputError(f"{where}: expected a value, got {_NOT_A_SINGLE_VALUE[type(value)]}")
    return repr(value) if isinstance(value, float) else str(value)


def _checking_copy(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """A copy of `parser` that raises argparse.ArgumentError instead of exiting."""
    checker = copy.copy(parser)
    checker.exit_on_error = False
    checker.error = _raise_parser_error
    return checker


def _raise_parser_error(message: str):
    raise argparse.ArgumentError(None, message)


def _check(checker: argparse.ArgumentParser, tokens: list[str], where: str) -> None:
    """Parses one entry's tokens alone: InputError with argparse's message if the
    parser rejects them. An error about no option in particular (other options
    required but absent here) is not the entry's."""
    try:
        _, extra = checker.parse_known_args(tokens)
    except argparse.ArgumentError as error:
        if error.argument_name is None:
            return
        raise InputError(f"{where}: {error}") from None
    if extra:
        raise InputError(f"{where}: {' '.join(extra)} reads as an option, not a value")


def _yaml_value(value):
    """`value` as YAML can write it safely: lists for tuples, text for other objects."""
    if isinstance(value, (list, tuple)):
        return [_yaml_value(item) for item in value]
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
