"""Sentence pairs from a tab-separated file, tatoeba style::

    Go.<TAB>Va !<TAB>CC-BY 2.0 (France) Attribution: tatoeba.org ...

(column 1 is the source, column 2 the target; further columns, tatoeba's
attribution, are ignored), or from two parallel text files, one sentence a
line, as WMT, IWSLT and FLORES ship their sets (``train.en,train.fr``:
``read_pairs`` takes either). ``ENG_FRA_SAMPLE`` is a small English-French
file shipped with the package (see ``samples/make_eng_fra.py``).
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


def read_pairs(spec, max_pairs: Optional[int] = None):
    """The pairs of `spec`: a TSV file (read_tsv_pairs), or two parallel text
    files named ``SOURCE,TARGET`` (read_parallel_pairs). A name with a comma
    is taken whole where such a file exists."""
    files = parallel_files(spec)
    if files is None:
        return read_tsv_pairs(spec, max_pairs)
    return read_parallel_pairs(*files, max_pairs)


def parallel_files(spec) -> Optional[tuple[str, str]]:
    """(source file, target file) where `spec` names two, ``SOURCE,TARGET``;
    None where it names one file. InputError for more than two names."""
    spec = str(spec)
    if "," not in spec or Path(spec).exists():
        return None
    names = [name.strip() for name in spec.split(",")]
    if len(names) != 2 or not all(names):
        raise InputError(
            f"{spec}: expected a TSV file or two parallel text files, SOURCE,TARGET"
            f" (e.g. train.en,train.fr), got {len(names)} names"
        )
    return names[0], names[1]


def read_parallel_pairs(source_path, target_path, max_pairs: Optional[int] = None):
    """``(source, target)`` pairs, stripped, from line i of each of two UTF-8
    files. A line blank in both files is skipped, as read_tsv_pairs skips
    blank lines; the files must have as many lines, and a line blank on one
    side only is an error: each InputError names the files and the line."""
    sources, targets = read_lines(source_path), read_lines(target_path)
    if len(sources) != len(targets):
        raise InputError(
            f"{source_path} has {len(sources)} lines but {target_path} has {len(targets)}:"
            " parallel files need one line per sentence, the same number in each"
        )
    pairs = []
    for number, (source, target) in enumerate(zip(sources, targets), start=1):
        if max_pairs is not None and len(pairs) >= max_pairs:
            break
        source, target = source.strip(), target.strip()
        if not source and not target:
            continue
        if not source or not target:
            empty, other = (source_path, target_path) if not source else (target_path, source_path)
            raise InputError(f"{empty}, line {number}: empty, but not in {other}")
        pairs.append((source, target))
    if not pairs:
        raise InputError(f"{source_path}, {target_path}: no sentence pair found (every line blank)")
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
