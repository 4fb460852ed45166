"""Sentence pairs from a tab-separated file, tatoeba style::

    Go.<TAB>Va !<TAB>CC-BY 2.0 (France) Attribution: tatoeba.org ...

Column 1 is the source, column 2 the target; further columns (tatoeba's
attribution) are ignored. ``ENG_FRA_SAMPLE`` is a small English-French file
shipped with the package (see ``samples/make_eng_fra.py``).
"""

from pathlib import Path
from typing import Optional

from ...errors import InputError

ENG_FRA_SAMPLE = Path(__file__).parent / "samples" / "eng-fra.tsv"


def read_tsv_pairs(path, max_pairs: Optional[int] = None, reverse: bool = False):
    """``(source, target)`` pairs, stripped, from a UTF-8 file (a byte-order
    mark is allowed).

    Blank lines are ignored. ``reverse`` swaps the columns (French -> English
    from an English-French file); ``max_pairs`` stops after that many pairs.
    A file that cannot be read, a line that is not UTF-8, a line without a tab
    or with an empty source or target, and a file without a single pair raise
    InputError naming the file and the line: nothing is skipped silently.
    """
    pairs = []
    for number, raw in _raw_lines(path):
        if max_pairs is not None and len(pairs) >= max_pairs:
            break
        line = _decode(raw, path, number)
        if not line.strip():
            continue
        source, target = _columns(line, path, number)
        pairs.append((target, source) if reverse else (source, target))
    if not pairs:
        raise InputError(f"{path}: no sentence pair found (the file has no non-blank line)")
    return pairs


def read_lines(path) -> list:
    """The lines of a UTF-8 text file (a byte-order mark is allowed), without
    their line ends; InputError naming the file (and the line) if it cannot be
    read or a line is not UTF-8."""
    return [_decode(raw, path, n).rstrip("\r\n") for n, raw in _raw_lines(path)]


def _raw_lines(path):
    """(line number from 1, the line's bytes) of a file, read as it is iterated;
    InputError naming the file if it cannot be read."""
    try:
        with open(path, "rb") as f:
            yield from enumerate(f, start=1)
    except OSError as error:
        raise InputError(f"{path}: cannot read the file ({error.strerror})") from error


def _decode(raw: bytes, path, number: int) -> str:
    try:
        return raw.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError as error:
        raise InputError(
            f"{path}, line {number}: not UTF-8 (byte 0x{raw[error.start]:02x} at byte"
            f" {error.start + 1} of the line); convert the file, e.g. iconv -f latin1 -t utf-8"
        ) from None


def _columns(line: str, path, number: int) -> tuple[str, str]:
    columns = line.rstrip("\r\n").split("\t")
    if len(columns) < 2:
        raise InputError(f"{path}, line {number}: no tab; expected source<TAB>target")
    source, target = columns[0].strip(), columns[1].strip()
    if not source or not target:
        side = "source" if not source else "target"
        raise InputError(f"{path}, line {number}: empty {side}")
    return source, target
