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


TOKENIZER_KINDS = ("word", "char", "sentencepiece")


class Tokenizer:
    """How a task's text becomes tokens and back, for each side: words or
    characters (lowercased), or sentencepiece subwords (case kept), one model
    per side or one shared model. ``fit`` trains the subword models; the state
    (models included) goes into checkpoints, so a checkpoint alone translates::

        tokenizer = Tokenizer.fit("sentencepiece", train_pairs, vocab_size=500, subword_type="bpe")
        tokenizer.tokenize("I see the cat.", "source")   # ["▁I", "▁see", "▁the", "▁cat", "."]
    """

    def __init__(self, kind: str = "word", lowercase: bool = True, subword_models=None) -> None:
        if kind not in TOKENIZER_KINDS:
            raise ValueError(f"tokenizer must be one of {TOKENIZER_KINDS}, got {kind!r}")
        if (kind == "sentencepiece") != (subword_models is not None):
            raise ValueError(
                "subword models are given with the sentencepiece tokenizer, and only then"
            )
        self.kind, self.lowercase = kind, lowercase
        self.subword_models = subword_models  # {"source": SubwordModel, "target": SubwordModel}

    @classmethod
    def fit(
        cls,
        kind: str,
        train_pairs,
        vocab_size: int,
        subword_type: str,
        joint: bool = False,
        model_files=None,
    ) -> "Tokenizer":
        """The tokenizer of `kind`; for sentencepiece, its models: read as they
        are from `model_files` ({side: path}, e.g. the same file for both
        sides), the other sides' trained on the (source, target) text pairs of
        the training split: one per side, or one on both sides' text with
        `joint`."""
        if kind != "sentencepiece":
            return cls(kind)
        from .subwords import SubwordModel

        files = dict(model_files or {})
        loaded = {path: SubwordModel.load(path) for path in set(files.values())}
        models = {side: loaded[path] for side, path in files.items()}
        texts = {"source": [s for s, _ in train_pairs], "target": [t for _, t in train_pairs]}
        if joint and not models:
            shared = SubwordModel.train(
                texts["source"] + texts["target"], vocab_size, subword_type, "the joint text"
            )
            models = {"source": shared, "target": shared}
        for side in ("source", "target"):
            if side not in models:
                models[side] = SubwordModel.train(
                    texts[side], vocab_size, subword_type, f"the {side} text"
                )
        return cls(kind, lowercase=False, subword_models=models)

    def tokenize(self, text: str, side: str) -> list[str]:
        if self.subword_models is not None:
            return self.subword_models[side].encode(text)
        return TOKENIZERS[self.kind](text, lowercase=self.lowercase)

    def detokenize(self, tokens: list[str], side: str) -> str:
        if self.subword_models is not None:
            return self.subword_models[side].decode(tokens)
        return detokenize(tokens) if self.kind == "word" else "".join(tokens)

    def to_state(self) -> dict:
        state = {"kind": self.kind, "lowercase": self.lowercase}
        if self.subword_models is not None:
            state["subword_models"] = {s: m.to_bytes() for s, m in self.subword_models.items()}
        return state

    @classmethod
    def from_state(cls, state) -> "Tokenizer":
        """What to_state gave, or the bare name older checkpoints stored."""
        if isinstance(state, str):
            return cls(state)
        models = state.get("subword_models")
        if models is not None:
            from .subwords import SubwordModel

            models = {side: SubwordModel(data) for side, data in models.items()}
        return cls(state["kind"], state["lowercase"], models)
