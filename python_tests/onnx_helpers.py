"""What the ONNX tests share: export with torch's exporter as a user calls it,
run in onnxruntime, compare, and read the graph."""

import io
import warnings

import numpy as np
import pytest
import torch

onnx = pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

TOLERANCE = 1e-5  # float32: onnxruntime's kernels against ours, as issue 34 asks


def export(module, args, dynamic_shapes=None, dynamo=True, **options):
    """torch.onnx.export(module, args, ...) as a user calls it -> the ONNX ModelProto."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporters' deprecation and tracer notes
        if not dynamo:
            file = io.BytesIO()
            torch.onnx.export(module, args, file, dynamo=False, **options)
            return onnx.load_from_string(file.getvalue())
        program = torch.onnx.export(
            module, args, dynamic_shapes=dynamic_shapes, dynamo=True, verbose=False, **options
        )
    return program.model_proto


def run(model, *inputs):
    """The model's outputs in onnxruntime for the tensors `inputs` (nested
    tuples flattened, as the exporters flatten them)."""
    session = onnxruntime.InferenceSession(model.SerializeToString())
    arrays = [t.detach().numpy() for t in flat(inputs)]
    names = [i.name for i in session.get_inputs()]
    return session.run(None, dict(zip(names, arrays)))


def flat(values) -> list:
    if isinstance(values, torch.Tensor):
        return [values]
    return [t for value in values if value is not None for t in flat(value)]


def assert_runs_as(model, module, *inputs, tolerance=TOLERANCE):
    """onnxruntime's outputs of `model` equal module(*inputs)'s within `tolerance`."""
    with torch.no_grad():
        expected = flat(module(*inputs))
    actual = run(model, *inputs)
    assert len(actual) == len(expected)
    for index, (ours, theirs) in enumerate(zip(actual, expected)):
        assert ours.shape == tuple(theirs.shape), index
        difference = float(np.abs(ours - theirs.numpy()).max()) if ours.size else 0.0
        assert difference <= tolerance, (index, difference)


def nodes(model) -> list:
    """Every node of the model, those in subgraphs (Scan's body) and functions too."""
    found = []

    def visit(graph_nodes):
        for node in graph_nodes:
            found.append(node)
            for attribute in node.attribute:
                for graph in [attribute.g, *attribute.graphs]:
                    visit(graph.node)

    visit(model.graph.node)
    for function in model.functions:
        visit(function.node)
    return found


def op_counts(model) -> dict:
    counts = {}
    for node in model.graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


def assert_standard_onnx_only(model) -> None:
    """No custom domain anywhere: every node, opset import and function is ONNX's own."""
    assert {opset.domain for opset in model.opset_import} == {""}
    assert not model.functions
    assert {node.domain for node in nodes(model)} == {""}


def attributes(node) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
