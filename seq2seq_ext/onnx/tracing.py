"""Whether the model is being traced for ONNX, and by which of torch's exporters.

``torch.onnx.export(..., dynamo=True)`` (the default) traces with torch.export,
non-strict first; ``dynamo=False``, the legacy exporter, with
``torch.jit.trace``. ``torch.onnx.is_in_onnx_export()`` says either, but costs
about a microsecond, so it is asked only inside such a trace: an eager call pays
two flag reads, and torch.compile (not exporting) folds them to constants.

Only torch is imported here: the Fused modules ask on every call, and the
library runs without the onnx packages.
"""

import torch

# The exporter this package's export supports in full; the errors name it.
SUPPORTED_ROUTE = "torch.onnx.export(model, args, dynamo=True)"
# The onnx extra (pyproject.toml): torch's exporter needs onnx and onnxscript,
# OnnxSeq2Seq onnxruntime.
ONNX_EXTRA = ("onnx", "onnxscript", "onnxruntime")
INSTALL_HINT = 'pip install "seq2seq_ext[onnx]"'


def exporting_to_onnx() -> bool:
    """Whether this code runs inside torch.onnx.export, by either exporter."""
    if torch.jit.is_tracing():
        return torch.onnx.is_in_onnx_export()
    return torch.compiler.is_exporting() and torch.onnx.is_in_onnx_export()


def legacy_exporter() -> bool:
    """Whether the legacy TorchScript exporter (dynamo=False) traces; call it
    only where exporting_to_onnx() holds."""
    return torch.jit.is_tracing()
