"""Sentence pairs from a tab-separated file, tatoeba style::

    Go.<TAB>Va !<TAB>CC-BY 2.0 (France) Attribution: tatoeba.org ...

Column 1 is the source, column 2 the target; further columns (tatoeba's
attribution) are ignored. ``ENG_FRA_SAMPLE`` is a small English-French file
shipped with the package (see ``samples/make_eng_fra.py``).
"""

from pathlib import Path
from typing import NamedTuple, Optional

ENG_FRA_SAMPLE = Path(__file__).parent / "samples" / "eng-fra.tsv"


class TsvPairs(NamedTuple):
    pairs: list[tuple[str, str]]  # (source, target), stripped
    skipped: int  # lines without a non-empty source and target


def read_tsv_pairs(path, max_pairs: Optional[int] = None, reverse: bool = False) -> TsvPairs:
    """Read ``(source, target)`` pairs from a UTF-8 file.

    Blank lines are ignored. A line with fewer than two columns, or whose
    source or target is empty after stripping, is skipped and counted in
    ``skipped``. ``reverse`` swaps the columns (French -> English from an
    English-French file); ``max_pairs`` stops after that many pairs.
    A file without a single valid pair raises ValueError.
    """
    pairs, skipped = [], 0
    with open(path, encoding="utf-8-sig") as f:
        for line in f:
            if max_pairs is not None and len(pairs) >= max_pairs:
                break
            if not line.strip():
                continue
            columns = line.rstrip("\r\n").split("\t")
            if len(columns) < 2 or not columns[0].strip() or not columns[1].strip():
                skipped += 1
                continue
            source, target = columns[0].strip(), columns[1].strip()
            pairs.append((target, source) if reverse else (source, target))
    if not pairs:
        raise ValueError(
            f"{path}: no sentence pair found (expected lines of "
            f"source<TAB>target; {skipped} line(s) skipped)"
        )
    return TsvPairs(pairs, skipped)
