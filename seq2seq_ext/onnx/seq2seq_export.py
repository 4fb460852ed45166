"""A Seq2Seq model as two ONNX graphs, which runner.py decodes with:

- ``encoder.onnx``: (src (B, S) int64, src_lengths (B,) int64) -> the
  decoder's memory (values (B, S, K), mask (B, S) bool, and for Bahdanau the
  projected keys (B, S, A)) and its initial state h (L, B, H) (and c for the LSTM);
- ``decoder_step.onnx``: one step of ``AttentionDecoder.step`` (embedding,
  recurrent layers, attention, combine, output layer), then log-softmax:
  (token (R,), state, memory, and with input feeding the previous output
  o (R, H)) -> (log_probs (R, V), the new state, the attention weights
  (R, S) with attention, and o with input feeding). R is any number of rows:
  a batch, or a beam's rows;
- ``seq2seq.json``: the model's config, the graphs' input and output names,
  and the vocabularies when given;
- ``onnx_seq2seq.py``: a copy of runner.py, which needs numpy and onnxruntime
  only, so that the directory decodes on a machine without torch.

Both graphs come from torch.onnx.export(dynamo=True), with the batch, source
length and rows dynamic.
"""

import json
import shutil
import warnings
from pathlib import Path

import torch
from torch import nn

from ..models import Seq2Seq
from ..models.decoder import Memory
from .runner import FORMAT, FORMAT_VERSION, STEP_OUTPUTS, state_names
from .traced_modules import UnsupportedExport
from .tracing import INSTALL_HINT

# Example sizes for the trace: above 1, so that export keeps the dimensions
# dynamic (torch.export specializes sizes 0 and 1).
EXAMPLE_BATCH, EXAMPLE_SOURCE = 3, 5


def require_onnx_packages() -> None:
    """ImportError naming the extra unless onnx and onnxscript (what
    torch.onnx.export needs) import."""
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as error:
        raise ImportError(f"ONNX export needs the onnx extra ({INSTALL_HINT}): {error}") from None


def memory_names(config) -> list:
    return ["values", "mask"] + (["keys_proj"] if config.attention == "bahdanau" else [])


class EncoderGraph(nn.Module):
    """The encoder half of a Seq2Seq: its memory and the decoder's initial state."""

    def __init__(self, model: Seq2Seq) -> None:
        super().__init__()
        self.model = model

    def forward(self, src, src_lengths):
        memory, state = self.model.encode(src, src_lengths)
        states = state if isinstance(state, tuple) else (state,)
        return (*[t for t in memory if t is not None], *states)


class DecoderStepGraph(nn.Module):
    """One decoder step on a given memory: its log-probabilities, new state,
    attention weights (with attention) and output o (with input feeding)."""

    def __init__(self, model: Seq2Seq) -> None:
        super().__init__()
        self.decoder = model.decoder

    def forward(self, token, *inputs):
        config = self.decoder.config
        states = len(state_names(config.cell))
        state = tuple(inputs[:states]) if states == 2 else inputs[0]
        memory = list(inputs[states : states + len(memory_names(config))])
        keys_proj = memory[2] if config.attention == "bahdanau" else None
        feed = inputs[-1] if config.input_feeding else None
        logits, state, weights, output = self.decoder.step(
            token, state, Memory(memory[0], memory[1], keys_proj), feed
        )
        outputs = [torch.log_softmax(logits, dim=1), *(state if states == 2 else (state,))]
        if weights is not None:
            outputs.append(weights)
        if config.input_feeding:
            outputs.append(output)
        return tuple(outputs)


def export_seq2seq(model, directory, src_vocab=None, tgt_vocab=None) -> dict:
    """Writes `model` (a Seq2Seq, on either backend) into `directory` as
    encoder.onnx, decoder_step.onnx, seq2seq.json and onnx_seq2seq.py (see
    above); src_vocab / tgt_vocab: the vocabularies' tokens in index order, for
    OnnxSeq2Seq.translate_tokens. Returns {what: path}."""
    require_onnx_packages()
    if not isinstance(model, Seq2Seq):
        raise UnsupportedExport(
            f"export_seq2seq exports a Seq2Seq, got {type(model).__name__}: export the float32 "
            "model a for_inference copy was made from (its bfloat16 / int8 matrices have no "
            "ONNX form here)"
        )
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = model.config
    was_training = model.training
    model.eval()
    try:
        names = _export_graphs(model, directory)
    finally:
        model.train(was_training)
    metadata = dict(
        format=FORMAT,
        version=FORMAT_VERSION,
        config=config.to_dict(),
        encoder=dict(file="encoder.onnx", inputs=names["encoder_inputs"]),
        decoder_step=dict(file="decoder_step.onnx", inputs=names["step_inputs"]),
        src_vocab=list(src_vocab) if src_vocab is not None else None,
        tgt_vocab=list(tgt_vocab) if tgt_vocab is not None else None,
        torch=torch.__version__,
    )
    (directory / "seq2seq.json").write_text(json.dumps(metadata, indent=1))
    shutil.copyfile(Path(__file__).with_name("runner.py"), directory / "onnx_seq2seq.py")
    return {
        name: str(directory / file)
        for name, file in (
            ("encoder", "encoder.onnx"),
            ("decoder_step", "decoder_step.onnx"),
            ("metadata", "seq2seq.json"),
            ("runner", "onnx_seq2seq.py"),
        )
    }


def _export_graphs(model: Seq2Seq, directory: Path) -> dict:
    config = model.config
    batch, source = EXAMPLE_BATCH, EXAMPLE_SOURCE
    src = torch.randint(4, config.src_vocab_size, (batch, source))
    src[:, -1] = config.eos_index
    src_lengths = torch.full((batch,), source, dtype=torch.long)
    src_lengths[1] = source - 1  # one shorter sentence: its last position is padding
    encoder_inputs = ["src", "src_lengths"]
    rows, length = torch.export.Dim("rows"), torch.export.Dim("source_length")
    states = state_names(config.cell)
    memory = memory_names(config)
    encoder = EncoderGraph(model).eval()
    _export(
        encoder,
        (src, src_lengths),
        directory / "encoder.onnx",
        encoder_inputs,
        memory + states,
        ({0: rows, 1: length}, {0: rows}),
    )
    with torch.no_grad():
        encoded = encoder(src, src_lengths)
    step_inputs = ["token", *states, *memory] + (["feed"] if config.input_feeding else [])
    token = torch.full((batch,), config.sos_index, dtype=torch.long)
    step_args = [token, *encoded[len(memory) :], *encoded[: len(memory)]]
    step_shapes = [{0: rows}] + [{1: rows}] * len(states)
    step_shapes += [{0: rows, 1: length}] * len(memory)
    if config.input_feeding:
        step_args.append(torch.zeros(batch, config.hidden_size))
        step_shapes.append({0: rows})
    step_outputs = [name for name in STEP_OUTPUTS if _has_step_output(config, name)]
    _export(
        DecoderStepGraph(model).eval(),
        tuple(step_args),
        directory / "decoder_step.onnx",
        step_inputs,
        step_outputs,
        (step_shapes[0], tuple(step_shapes[1:])),  # token, *inputs
    )
    return dict(encoder_inputs=encoder_inputs, step_inputs=step_inputs)


def _has_step_output(config, name: str) -> bool:
    if name == "next_c":
        return config.cell == "lstm"
    if name == "weights":
        return config.attention != "none"
    if name == "next_feed":
        return config.input_feeding
    return True


def _export(module, args, path, input_names, output_names, dynamic_shapes) -> None:
    with warnings.catch_warnings():
        # torch.nn's RNNs refresh their weight list in forward, which export
        # notes; and it says which of the dimensions named alike it keeps.
        warnings.filterwarnings("ignore", r"The tensor attributes .*_flat_weights")
        warnings.filterwarnings("ignore", r"# The axis name: ")
        torch.onnx.export(
            module,
            args,
            str(path),
            input_names=input_names,
            output_names=output_names,
            dynamic_shapes=dynamic_shapes,
            dynamo=True,
            external_data=False,
            verbose=False,
        )
