"""Files written whole or not at all: the content goes to a temporary file
next to the destination, renamed over it only when complete, so an
interrupted or failed write never leaves a truncated file (or destroys the
previous one)."""

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .errors import InputError


@contextmanager
def atomic_output(path, mode: str = "w", protected=()):
    """Yields a file object open on a temporary file in `path`'s folder (made
    if missing), renamed to `path` when the block ends without an exception,
    deleted when it raises. Entering fails at once if the folder cannot be
    written, and with InputError if `path` is one of the `protected` files
    (e.g. the input being read)."""
    path = Path(path)
    for other in protected:
        if other is not None and path.resolve() == Path(other).resolve():
            raise InputError(f"{path}: the output would overwrite {other}; choose another path")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a file path for the output")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(handle, mode, encoding=encoding) as file:
            yield file
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
