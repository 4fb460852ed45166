"""Simple tokenizers for the example tasks: words with punctuation split off,
or single characters.

A word is a run of letters or digits (any script), which may contain an
apostrophe or a hyphen between letters (``don't``, ``j'aime``, ``est-ce``);
every other non-space character is a token of its own::

    word_tokenize("Hello, world!", lowercase=True)   # ["hello", ",", "world", "!"]
    detokenize(["hello", ",", "world", "!"])         # "hello, world!"
"""

import re

_WORD_OR_SYMBOL = re.compile(r"\w+(?:['’-]\w+)*|[^\w\s]")
_NO_SPACE_BEFORE = set(".,;:!?%)]}…")
_NO_SPACE_AFTER = set("([{")


def word_tokenize(text: str, lowercase: bool = False) -> list[str]:
    """Words and punctuation marks of ``text``."""
    if lowercase:
        text = text.lower()
    return _WORD_OR_SYMBOL.findall(text)


def char_tokenize(text: str, lowercase: bool = False) -> list[str]:
    """The characters of ``text``, spaces included."""
    return list(text.lower() if lowercase else text)


TOKENIZERS = {"word": word_tokenize, "char": char_tokenize}


def detokenize(words: list[str]) -> str:
    """Join words with spaces, except before closing punctuation
    (``. , ; : ! ? % ) ] }``) and after an opening bracket."""
    text = ""
    for i, word in enumerate(words):
        if i > 0 and word not in _NO_SPACE_BEFORE and words[i - 1] not in _NO_SPACE_AFTER:
            text += " "
        text += word
    return text
