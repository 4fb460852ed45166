"""OnnxSeq2Seq: greedy and beam-search decoding of a Seq2Seq model exported
by ``seq2seq_ext.onnx.export_seq2seq`` (or ``python -m seq2seq_ext export``),
on numpy and onnxruntime alone. This file imports nothing else, so the export
copies it into its directory as ``onnx_seq2seq.py``, for a machine without
torch::

    from onnx_seq2seq import OnnxSeq2Seq     # or: from seq2seq_ext.onnx import OnnxSeq2Seq
    model = OnnxSeq2Seq("runs/reverse_words/onnx")
    model.translate_tokens([["the", "cat", "sat"]], beam_size=4)   # -> [[...]]
    decoded = model.beam_search(src, src_lengths, beam_size=4)      # int64 arrays in

The searches are seq2seq_ext.models.search's, step for step: the same tokens,
and scores summed in float32 as there; only a tie between candidates (beam
search's top-k) may be broken differently.
"""

import json
from pathlib import Path
from typing import NamedTuple, Optional

import numpy as np

FORMAT, FORMAT_VERSION = "seq2seq_ext.onnx", 1  # seq2seq.json's
# The decoder step's outputs in order; a model has those its config needs. (An
# ONNX graph's outputs cannot share its inputs' names: h in, next_h out.)
STEP_OUTPUTS = ("log_probs", "next_h", "next_c", "weights", "next_feed")
# (tracing.py's hint, and what a machine without torch installs: this file imports nothing of the package.)
INSTALL_HINT = 'pip install "seq2seq_ext[onnx]" (or, without torch: pip install numpy onnxruntime)'


def state_names(cell: str) -> list:
    """The decoder state's names: h, and c for the LSTM."""
    return ["h", "c"] if cell == "lstm" else ["h"]


class Decoded(NamedTuple):
    tokens: np.ndarray  # (B, L) int64: the output tokens up to EOS, then PAD
    scores: np.ndarray  # (B,) float32: summed log-probabilities (beam: / length penalty)
    attention: Optional[np.ndarray]  # (B, L, S) weights per output token; None without attention
    lengths: np.ndarray  # (B,) int64: tokens up to and including EOS


class OnnxSeq2Seq:
    """The exported model in `directory`, on onnxruntime sessions with
    `providers` (default: onnxruntime's) and `threads` intra-op threads
    (default: onnxruntime's choice)."""

    def __init__(self, directory, providers=None, threads: Optional[int] = None) -> None:
        try:
            import onnxruntime
        except ImportError as error:
            raise ImportError(f"OnnxSeq2Seq needs onnxruntime ({INSTALL_HINT}): {error}") from None
        directory = Path(directory)
        metadata = json.loads((directory / "seq2seq.json").read_text())
        if metadata.get("format") != FORMAT or metadata.get("version") != FORMAT_VERSION:
            raise ValueError(
                f"{directory / 'seq2seq.json'} is not a {FORMAT} version {FORMAT_VERSION} "
                "description: export the model again with this version"
            )
        self.config = metadata["config"]
        self.src_vocab, self.tgt_vocab = metadata["src_vocab"], metadata["tgt_vocab"]
        options = onnxruntime.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads

        def session(graph):
            path = str(directory / metadata[graph]["file"])
            return onnxruntime.InferenceSession(path, options, providers=providers)

        self.encoder, self.decoder_step = session("encoder"), session("decoder_step")
        self._state_names = state_names(self.config["cell"])
        self._step_inputs = metadata["decoder_step"]["inputs"]
        self._step_outputs = [o.name for o in self.decoder_step.get_outputs()]

    # ------------------------------------------------------------ the graphs

    def encode(self, src, src_lengths):
        """src (B, S), src_lengths (B,) int64 -> (memory {name: array}, state [h(, c)])."""
        outputs = self.encoder.run(None, {"src": _int64(src), "src_lengths": _int64(src_lengths)})
        names = [o.name for o in self.encoder.get_outputs()]
        named = dict(zip(names, outputs))
        return (
            {name: named[name] for name in names if name not in self._state_names},
            [named[name] for name in self._state_names],
        )

    def step(self, token, state, memory, feed=None):
        """One decoder step -> (log_probs (R, V), new state, attention weights
        (R, S) or None, the output o to feed (R, H) or None)."""
        values = {"token": _int64(token), **dict(zip(self._state_names, state)), **memory}
        if self.config["input_feeding"]:
            values["feed"] = feed
        named = dict(zip(self._step_outputs, self.decoder_step.run(None, values)))
        new_state = [named["next_" + name] for name in self._state_names]
        return named["log_probs"], new_state, named.get("weights"), named.get("next_feed")

    def _first_feed(self, rows: int):
        hidden = self.config["hidden_size"]
        return np.zeros((rows, hidden), np.float32) if self.config["input_feeding"] else None

    # ------------------------------------------------------------ searches

    def greedy_decode(self, src, src_lengths, max_len: int = 50) -> Decoded:
        """The most likely token at each step (search.greedy_decode)."""
        _check_positive("max_len", max_len)
        pad, eos = self.config["pad_index"], self.config["eos_index"]
        memory, state = self.encode(src, src_lengths)
        batch = len(src_lengths)
        token = np.full(batch, self.config["sos_index"], np.int64)
        finished = np.zeros(batch, bool)
        lengths = np.zeros(batch, np.int64)
        scores = np.zeros(batch, np.float32)
        tokens, weights_per_step, feed = [], [], self._first_feed(batch)
        for _ in range(max_len):
            log_probs, state, weights, feed = self.step(token, state, memory, feed)
            token = log_probs.argmax(1)
            best = log_probs[np.arange(batch), token]
            token = np.where(finished, pad, token)
            scores += np.where(finished, np.float32(0), best)
            lengths += ~finished
            tokens.append(token)
            weights_per_step.append(weights)
            finished |= token == eos
            if finished.all():
                break
        attention = np.stack(weights_per_step, 1) if weights_per_step[0] is not None else None
        return Decoded(np.stack(tokens, 1), scores, attention, lengths)

    def beam_search(
        self, src, src_lengths, beam_size: int = 4, max_len: int = 50, length_penalty: float = 0.0
    ) -> Decoded:
        """The beam_size best partial hypotheses of each sentence kept at each
        step; a finished one is extended by PAD at no cost; at the end ranked by
        score / ((5 + length) / 6) ** length_penalty (search.beam_search)."""
        _check_positive("max_len", max_len)
        _check_positive("beam_size", beam_size)
        pad, eos = self.config["pad_index"], self.config["eos_index"]
        batch, beams = len(src_lengths), beam_size
        memory, state = self.encode(src, src_lengths)
        rows = np.repeat(np.arange(batch), beams)  # sentence-major: row b * beams + k
        memory = {name: value[rows] for name, value in memory.items()}
        state = [s[:, rows] for s in state]
        token = np.full(batch * beams, self.config["sos_index"], np.int64)
        scores = np.zeros((batch, beams), np.float32)
        scores[:, 1:] = -np.inf  # the beams start identical: keep one
        finished = np.zeros(batch * beams, bool)
        lengths = np.zeros(batch * beams, np.int64)
        tokens = np.empty((batch * beams, 0), np.int64)
        attention, feed = None, self._first_feed(batch * beams)
        first_row = (np.arange(batch) * beams)[:, None]
        for _ in range(max_len):
            log_probs, state, weights, feed = self.step(token, state, memory, feed)
            log_probs[finished] = -np.inf
            log_probs[finished, pad] = 0.0
            vocab = log_probs.shape[1]
            candidates = (scores.reshape(-1, 1) + log_probs).reshape(batch, beams * vocab)
            best = _top_k(candidates, beams)
            scores = np.take_along_axis(candidates, best, 1)
            origin = (first_row + best // vocab).reshape(-1)
            token = (best % vocab).reshape(-1)
            state = [s[:, origin] for s in state]
            feed = feed[origin] if feed is not None else None
            finished, lengths = finished[origin], lengths[origin]
            tokens = np.concatenate([tokens[origin], token[:, None]], 1)
            if weights is not None:
                step_weights = weights[origin][:, None]
                attention = (
                    step_weights
                    if attention is None
                    else np.concatenate([attention[origin], step_weights], 1)
                )
            lengths += ~finished
            finished |= token == eos
            if finished.all():
                break
        penalty = ((5.0 + lengths.reshape(batch, beams)) / 6.0) ** length_penalty
        ranked = scores / penalty  # float64, as torch promotes it
        best_beam = ranked.argmax(1)
        chosen = first_row[:, 0] + best_beam
        return Decoded(
            tokens[chosen],
            ranked[np.arange(batch), best_beam].astype(np.float32),
            attention[chosen] if attention is not None else None,
            lengths[chosen],
        )

    # ------------------------------------------------------------ tokens

    def translate_tokens(
        self, sources, beam_size: int = 1, max_len: int = 50, length_penalty: float = 0.0
    ) -> list:
        """Token lists -> output token lists, with the exported vocabularies
        (unknown tokens as <unk>; the output up to EOS, without special tokens)."""
        if self.src_vocab is None or self.tgt_vocab is None:
            raise ValueError(
                "this export holds no vocabularies: export the checkpoint with the "
                "command line (python -m seq2seq_ext export), or decode token ids"
            )
        index = {token: i for i, token in enumerate(self.src_vocab)}
        unknown, eos = self.src_vocab.index("<unk>"), self.config["eos_index"]
        ids = [[index.get(token, unknown) for token in source] + [eos] for source in sources]
        lengths = np.array([len(i) for i in ids], np.int64)
        src = np.full((len(ids), lengths.max()), self.config["pad_index"], np.int64)
        for row, sentence in enumerate(ids):
            src[row, : len(sentence)] = sentence
        if beam_size == 1:
            decoded = self.greedy_decode(src, lengths, max_len)
        else:
            decoded = self.beam_search(src, lengths, beam_size, max_len, length_penalty)
        return [self._target_tokens(row) for row in decoded.tokens.tolist()]

    def _target_tokens(self, ids) -> list:
        """The tokens of output ids up to the first EOS, without PAD and SOS
        (as seq2seq_ext.nmt's Vocab.decode)."""
        tokens = []
        for index in ids:
            if index == self.config["eos_index"]:
                break
            if index not in (self.config["pad_index"], self.config["sos_index"]):
                tokens.append(self.tgt_vocab[index])
        return tokens


def _top_k(candidates, k: int):
    """The indices of each row's k largest values, largest first (as torch.topk)."""
    part = np.argpartition(-candidates, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(candidates, part, 1), axis=1, kind="stable")
    return np.take_along_axis(part, order, 1)


def _int64(array):
    return np.ascontiguousarray(array, dtype=np.int64)


def _check_positive(name: str, value: int) -> None:
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
