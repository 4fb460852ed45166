"""The error of bad input a user can fix: a missing or malformed file, a data
set too small to split. The command line prints it as one ``error: ...`` line
and exits non-zero (``--debug`` shows the traceback instead); library callers
catch it as the ValueError it is."""


class InputError(ValueError):
    """Bad input, with a message that names the file (and line) and the fix."""
