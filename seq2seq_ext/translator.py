"""From text to text with a trained model: tokenise, encode, decode (greedy or
beam), turn ids back into tokens; and the corpus metrics of a test set.

    translator = Translator.from_checkpoint("runs/tsv/best.pt")
    translator.translate("I see the cat.")
"""

from dataclasses import dataclass
from typing import Optional, Sequence

import torch
from torch import Tensor

from . import metrics
from .data import PAD_INDEX, TOKENIZERS, Vocab, detokenize, pad_sequences
from .models import Seq2Seq
from .train import load_model


@dataclass
class Translation:
    tokens: list  # the output tokens, without SOS / EOS
    score: float  # the search's score (log-probability, length-penalised)
    attention: Optional[Tensor]  # (len(tokens) + 1, len(source) + 1): EOS rows/columns included


class Translator:
    """A model with its vocabularies and tokenizer ("word" or "char")."""

    def __init__(
        self,
        model: Seq2Seq,
        src_vocab: Vocab,
        tgt_vocab: Vocab,
        tokenizer: str = "word",
        lowercase: bool = True,
        beam_size: int = 1,
        max_len: int = 50,
        length_penalty: float = 0.0,
    ) -> None:
        if tokenizer not in TOKENIZERS:
            raise ValueError(f"tokenizer must be one of {tuple(TOKENIZERS)}, got {tokenizer!r}")
        self.model, self.src_vocab, self.tgt_vocab = model.eval(), src_vocab, tgt_vocab
        self.tokenizer, self.lowercase = tokenizer, lowercase
        self.beam_size, self.max_len, self.length_penalty = beam_size, max_len, length_penalty

    @classmethod
    def from_checkpoint(cls, path, device="cpu", backend=None, **options) -> "Translator":
        """A checkpoint written by the CLI or the examples (its extra state holds
        the vocabularies and the tokenizer)."""
        return cls.from_loaded(*load_model(path, device=device, backend=backend), path, **options)

    @classmethod
    def from_loaded(cls, model: Seq2Seq, extra: dict, path, **options) -> "Translator":
        """The model and extra state that load_model(path) returned."""
        missing = {"src_vocab", "tgt_vocab", "tokenizer"} - set(extra)
        if missing:
            raise ValueError(
                f"{path} has no {sorted(missing)}: it was not written with "
                "vocabularies (use load_model for the model alone)"
            )
        return cls(
            model,
            Vocab.from_state(extra["src_vocab"], f"{path}'s src_vocab"),
            Vocab.from_state(extra["tgt_vocab"], f"{path}'s tgt_vocab"),
            extra["tokenizer"],
            extra.get("lowercase", True),
            **options,
        )

    def tokenize(self, text: str) -> list:
        return TOKENIZERS[self.tokenizer](text, lowercase=self.lowercase)

    def detokenize(self, tokens: Sequence[str]) -> str:
        return detokenize(tokens) if self.tokenizer == "word" else "".join(tokens)

    def translate(self, text: str) -> str:
        tokens = self.tokenize(text)
        if not tokens:
            return ""
        return self.detokenize(self.translate_tokens([tokens])[0].tokens)

    @torch.no_grad()
    def translate_tokens(self, sources: Sequence[Sequence[str]], batch_size: int = 64) -> list:
        """Token lists -> a Translation each (empty sources are not allowed)."""
        device = next(self.model.parameters()).device
        results = []
        for start in range(0, len(sources), batch_size):
            chunk = sources[start : start + batch_size]
            ids = [self.src_vocab.encode(tokens) for tokens in chunk]
            if min(len(i) for i in ids) < 2:
                raise ValueError("cannot translate an empty sentence")
            src, lengths = pad_sequences(ids, PAD_INDEX)
            src, lengths = src.to(device), lengths.to(device)
            if self.beam_size == 1:
                decoded = self.model.greedy_decode(src, lengths, self.max_len)
            else:
                decoded = self.model.beam_search(
                    src, lengths, self.beam_size, self.max_len, self.length_penalty
                )
            for row in range(len(ids)):
                length = int(decoded.lengths[row])
                attention = (
                    decoded.attention[row, :length, : int(lengths[row])].cpu()
                    if decoded.attention is not None
                    else None
                )
                results.append(
                    Translation(
                        self.tgt_vocab.decode(decoded.tokens[row, :length]),
                        float(decoded.scores[row]),
                        attention,
                    )
                )
        return results

    def evaluate(self, pairs: Sequence) -> dict:
        """Exact match, corpus BLEU and chrF of the translations of (source
        tokens, reference tokens) pairs, and the translations themselves."""
        translations = self.translate_tokens([source for source, _ in pairs])
        hypotheses = [t.tokens for t in translations]
        references = [list(reference) for _, reference in pairs]
        scores = {
            "exact_match": metrics.exact_match(hypotheses, references),
            "bleu": metrics.corpus_bleu(hypotheses, references),
            "chrf": metrics.chrf(
                [self.detokenize(h) for h in hypotheses], [self.detokenize(r) for r in references]
            ),
        }
        return {"scores": scores, "translations": translations}


def vocab_state(src_vocab: Vocab, tgt_vocab: Vocab, tokenizer: str, lowercase: bool) -> dict:
    """The vocabularies and tokenizer, as a checkpoint's extra state (what
    from_loaded reads)."""
    return {
        "src_vocab": src_vocab.to_state(),
        "tgt_vocab": tgt_vocab.to_state(),
        "tokenizer": tokenizer,
        "lowercase": lowercase,
    }
