"""From text to text with a trained model: tokenise, encode, decode (greedy or
beam), turn ids back into text; a file's sentences in batches of similar
length; and the corpus metrics of a test set.

    translator = Translator.from_checkpoint("runs/tsv/best.pt")
    translator.translate("I see the cat.")
"""

from dataclasses import dataclass
from typing import Optional, Sequence

import torch
from torch import Tensor
from tqdm import tqdm

from ..errors import InputError
from ..models import Seq2Seq
from . import metrics
from .data import PAD_INDEX, Tokenizer, Vocab, pad_sequences
from .trainer import load_model


@dataclass
class Translation:
    tokens: list  # the output tokens, without SOS / EOS
    score: float  # the search's score (log-probability, length-penalised)
    attention: Optional[Tensor]  # (len(tokens) + 1, len(source) + 1): EOS rows/columns included


class Translator:
    """A model with its vocabularies and tokenizer."""

    def __init__(
        self,
        model: Seq2Seq,
        src_vocab: Vocab,
        tgt_vocab: Vocab,
        tokenizer: Tokenizer,
        beam_size: int = 1,
        max_len: int = 50,
        length_penalty: float = 0.0,
        batch_size: int = 64,
        weights: str = "float32",
    ) -> None:
        """weights: the precision of the decoder's matrices; ``bfloat16`` or
        ``int8`` decode with ``model.for_inference(weights)`` (on the CPU)."""
        if weights != "float32":
            model = model.for_inference(weights)
        self.model, self.src_vocab, self.tgt_vocab = model.eval(), src_vocab, tgt_vocab
        self.tokenizer = tokenizer
        self.beam_size, self.max_len, self.length_penalty = beam_size, max_len, length_penalty
        self.batch_size = batch_size

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
            raise InputError(
                f"{path} has no {sorted(missing)}: it was not written with "
                "vocabularies (use load_model for the model alone)"
            )
        return cls(
            model,
            Vocab.from_state(extra["src_vocab"], f"{path}'s src_vocab"),
            Vocab.from_state(extra["tgt_vocab"], f"{path}'s tgt_vocab"),
            Tokenizer.from_state(extra["tokenizer"]),
            **options,
        )

    def detokenize(self, tokens: Sequence[str], side: str = "target") -> str:
        return self.tokenizer.detokenize(list(tokens), side)

    def translate(self, text: str) -> str:
        return self.translate_texts([text])[0]

    def translate_texts(self, texts: Sequence[str], progress: bool = False) -> list:
        """Each text's translation, in order; a text without tokens (an empty
        line) gives "". Sentences are decoded in batches of similar length,
        with a progress bar on stderr if `progress`."""
        sources = [self.tokenizer.tokenize(text, "source") for text in texts]
        real = [i for i, tokens in enumerate(sources) if tokens]
        real.sort(key=lambda i: len(sources[i]))  # little padding per batch
        outputs = [""] * len(texts)
        with tqdm(total=len(texts), unit="sentence", disable=not progress) as bar:
            bar.update(len(texts) - len(real))
            for start in range(0, len(real), self.batch_size):
                batch = real[start : start + self.batch_size]
                for i, translation in zip(
                    batch, self.translate_tokens([sources[i] for i in batch])
                ):
                    outputs[i] = self.detokenize(translation.tokens)
                bar.update(len(batch))
        return outputs

    @torch.no_grad()
    def translate_tokens(self, sources: Sequence[Sequence[str]]) -> list:
        """Token lists -> a Translation each (empty sources are not allowed)."""
        device = next(self.model.parameters()).device
        results = []
        for start in range(0, len(sources), self.batch_size):
            chunk = sources[start : start + self.batch_size]
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

    def evaluate(self, pairs: Sequence, references: Optional[Sequence[str]] = None) -> dict:
        """Exact match (of the tokens), sacreBLEU's BLEU and chrF (with their
        signatures) of the translations of (source tokens, reference tokens)
        pairs, and the translations. BLEU and chrF compare the detokenized
        translations with `references`, the reference sentences as the test
        set holds them (default: the reference tokens detokenized, for tasks
        without text); case-insensitively where the tokenizer lowercases."""
        translations = self.translate_tokens([source for source, _ in pairs])
        hypotheses = [t.tokens for t in translations]
        reference_tokens = [list(reference) for _, reference in pairs]
        if references is None:
            references = [self.detokenize(r) for r in reference_tokens]
        scores = {
            "exact_match": metrics.exact_match(hypotheses, reference_tokens),
            **metrics.corpus_scores(
                [self.detokenize(h) for h in hypotheses],
                references,
                lowercase=self.tokenizer.lowercase,
            ),
        }
        return {"scores": scores, "translations": translations}


class TranslationValidator:
    """The Trainer's validator: after each epoch, the validation pairs decoded
    greedily, their exact match, BLEU and chrF against `references` (the
    validation targets as the data holds them; see Translator.evaluate) as
    valid_*, with the signatures, and the attention of the first pair for
    TensorBoard."""

    def __init__(
        self,
        pairs: Sequence,
        src_vocab: Vocab,
        tgt_vocab: Vocab,
        tokenizer: Tokenizer,
        max_len,
        references: Optional[Sequence[str]] = None,
    ) -> None:
        self.pairs, self.src_vocab, self.tgt_vocab = pairs, src_vocab, tgt_vocab
        self.tokenizer, self.max_len, self.references = tokenizer, max_len, references
        self.attention_example = None  # (weights, source tokens, output tokens)

    def __call__(self, model: Seq2Seq) -> dict:
        translator = Translator(
            model, self.src_vocab, self.tgt_vocab, self.tokenizer, max_len=self.max_len
        )
        evaluation = translator.evaluate(self.pairs, self.references)
        self.attention_example = attention_example(evaluation["translations"][0], self.pairs[0][0])
        return {
            (name if name.endswith("signature") else f"valid_{name}"): value
            for name, value in evaluation["scores"].items()
        }


def attention_example(translation: Translation, source_tokens: Sequence[str]):
    """(weights, source labels, output labels) of a translation, EOS included,
    as plots.plot_attention takes them; None for a model without attention."""
    if translation.attention is None:
        return None
    outputs = [*translation.tokens, "<eos>"][: translation.attention.shape[0]]  # EOS if reached
    return translation.attention, [*source_tokens, "<eos>"], outputs


def vocab_state(src_vocab: Vocab, tgt_vocab: Vocab, tokenizer: Tokenizer) -> dict:
    """The vocabularies and tokenizer, as a checkpoint's extra state (what
    from_loaded reads)."""
    return {
        "src_vocab": src_vocab.to_state(),
        "tgt_vocab": tgt_vocab.to_state(),
        "tokenizer": tokenizer.to_state(),
    }
