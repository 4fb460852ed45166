"""ONNX export of models built on this package, and a runner for exported
Seq2Seq models (docs/onnx.md).

``torch.onnx.export(model, args, dynamo=True)``, torch's own exporter, exports
any model that holds the Fused modules or the attention modules, with no
argument a torch.nn user would not pass: under export they trace to standard
ONNX ops (traced_modules.py, recurrent.py). For a Seq2Seq model,
``export_seq2seq`` writes its encoder and one decoder step (seq2seq_export.py),
and ``OnnxSeq2Seq`` (runner.py) decodes with them, greedy or beam search, on
numpy and onnxruntime alone.

Exporting needs the ``onnx`` extra (``pip install "seq2seq_ext[onnx]"``:
onnx, onnxscript, onnxruntime); the library imports without it.
"""

from .runner import Decoded, OnnxSeq2Seq
from .traced_modules import UnsupportedExport
from .tracing import exporting_to_onnx

__all__ = ["Decoded", "OnnxSeq2Seq", "UnsupportedExport", "export_seq2seq", "exporting_to_onnx"]


def __getattr__(name):
    # export_seq2seq imports the models, which import this package's parents:
    # loaded on first use.
    if name == "export_seq2seq":
        from .seq2seq_export import export_seq2seq

        return export_seq2seq
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
