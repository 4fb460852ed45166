"""ONNX export of models built on this package, and a runner for exported
Seq2Seq models (docs/onnx.md).

``torch.onnx.export(model, args, dynamo=True)``, torch's own exporter, exports
any model that holds the Fused modules or the attention modules, with no
argument a torch.nn user would not pass: under export they trace to standard
ONNX ops (traced_modules.py, recurrent.py). For a Seq2Seq model,
``export_seq2seq`` writes its encoder and one decoder step, and ``OnnxSeq2Seq``
decodes with them (greedy and beam search) on numpy and onnxruntime alone.

Exporting needs the ``onnx`` extra (``pip install "seq2seq_ext[onnx]"``:
onnx, onnxscript, onnxruntime); the library imports without it.
"""

from .tracing import exporting_to_onnx
from .traced_modules import UnsupportedExport

__all__ = ["exporting_to_onnx", "UnsupportedExport"]
