"""A token <-> index table with the four special tokens every task uses.

Indices 0-3 are always ``<pad>``, ``<sos>``, ``<eos>``, ``<unk>``; the task's
tokens follow, most frequent first::

    vocab = Vocab.build([["hello", "world"], ["hello"]])
    vocab.encode(["hello", "moon"])          # [4, 3, 2]: hello, <unk>, <eos>
    vocab.decode([4, 5, 2, 0])               # ["hello", "world"]
"""

import json
from collections import Counter
from typing import Iterable, Optional, Sequence

PAD, SOS, EOS, UNK = "<pad>", "<sos>", "<eos>", "<unk>"
SPECIAL_TOKENS = (PAD, SOS, EOS, UNK)
PAD_INDEX, SOS_INDEX, EOS_INDEX, UNK_INDEX = 0, 1, 2, 3

FILE_FORMAT = "seq2seq_ext.vocab"
FILE_VERSION = 1


class Vocab:
    """Maps tokens to indices (``stoi``) and back (``itos``).

    ``tokens`` are the task's tokens in index order; the special tokens are put
    in front of them and must not be among them.
    """

    def __init__(self, tokens: Iterable[str] = ()) -> None:
        self.itos = list(SPECIAL_TOKENS) + list(tokens)
        self.stoi = {token: index for index, token in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            duplicates = sorted(t for t, n in Counter(self.itos).items() if n > 1)
            raise ValueError(f"Vocab: duplicate or special tokens given: {duplicates}")

    @classmethod
    def build(
        cls, token_lists: Iterable[Sequence[str]], min_freq: int = 1, max_size: Optional[int] = None
    ) -> "Vocab":
        """The tokens seen at least ``min_freq`` times, by frequency (descending)
        then alphabetically, so the same data always gives the same indices.
        ``max_size`` caps ``len(vocab)``, the four special tokens included."""
        if max_size is not None and max_size < len(SPECIAL_TOKENS):
            raise ValueError(
                f"Vocab.build: max_size must be >= {len(SPECIAL_TOKENS)} "
                f"(the special tokens), got {max_size}"
            )
        counts = Counter(
            token for tokens in token_lists for token in tokens if token not in SPECIAL_TOKENS
        )
        ranked = sorted(
            (t for t, n in counts.items() if n >= min_freq), key=lambda t: (-counts[t], t)
        )
        if max_size is not None:
            ranked = ranked[: max_size - len(SPECIAL_TOKENS)]
        return cls(ranked)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def encode(
        self, tokens: Sequence[str], add_sos: bool = False, add_eos: bool = True
    ) -> list[int]:
        """Indices of ``tokens``; unknown tokens become ``UNK_INDEX``."""
        ids = [self.stoi.get(token, UNK_INDEX) for token in tokens]
        return ([SOS_INDEX] if add_sos else []) + ids + ([EOS_INDEX] if add_eos else [])

    def decode(self, ids: Iterable[int], strip_special: bool = True) -> list[str]:
        """Tokens of ``ids`` (a list or a 1-D tensor). With ``strip_special``,
        stop at the first ``<eos>`` and leave out ``<pad>`` and ``<sos>``
        (``<unk>`` stays: it stands for a real token)."""
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        tokens = []
        for index in ids:
            if not 0 <= index < len(self.itos):
                raise ValueError(f"Vocab.decode: index {index} is outside [0, {len(self.itos)})")
            if strip_special:
                if index == EOS_INDEX:
                    break
                if index in (PAD_INDEX, SOS_INDEX):
                    continue
            tokens.append(self.itos[index])
        return tokens

    def to_state(self) -> dict:
        """The vocab as plain data (what ``save`` writes and checkpoints hold)."""
        return {"format": FILE_FORMAT, "version": FILE_VERSION, "tokens": list(self.itos)}

    @classmethod
    def from_state(cls, state, source="vocab state") -> "Vocab":
        """The vocab ``to_state`` gave; ValueError naming ``source`` for anything else."""
        if not (isinstance(state, dict) and state.get("format") == FILE_FORMAT):
            raise ValueError(f'{source} is not a vocab: no "format": "{FILE_FORMAT}" entry')
        if state.get("version") != FILE_VERSION:
            raise ValueError(
                f"{source}: vocab version {state.get('version')!r} is not "
                f"supported (expected {FILE_VERSION})"
            )
        tokens = state.get("tokens")
        if not (
            isinstance(tokens, list)
            and tuple(tokens[: len(SPECIAL_TOKENS)]) == SPECIAL_TOKENS
            and all(isinstance(t, str) for t in tokens)
        ):
            raise ValueError(
                f'{source}: "tokens" must be a list of strings starting with {list(SPECIAL_TOKENS)}'
            )
        return cls(tokens[len(SPECIAL_TOKENS) :])

    def save(self, path) -> None:
        """Write the vocab as JSON (UTF-8)."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_state(), f, ensure_ascii=False, indent=0)

    @classmethod
    def load(cls, path) -> "Vocab":
        """Read a file written by ``save``; ValueError for any other file."""
        with open(path, encoding="utf-8") as f:
            try:
                state = json.load(f)
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                raise ValueError(f"{path} is not a vocab file: not UTF-8 JSON ({error})") from None
        return cls.from_state(state, source=str(path))

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens)"
