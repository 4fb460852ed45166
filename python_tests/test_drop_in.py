"""The Fused modules wherever torch.nn's are taken: they are instances of torch.nn's
classes with everything those have, convert() swaps them into a model and back,
seq2seq_ext.compile() compiles a model with them into one graph without
changing how torch.nn's own modules compile, and torch.export exports them."""

import copy
import io
import pickle
import subprocess
import sys
import warnings

import pytest
import torch
from conftest import DEVICES, flat_tensors, requires_cuda
from torch import nn

import seq2seq_ext
from seq2seq_ext import convert

# (torch.nn class, ours, constructor arguments)
PAIRS = [
    (nn.LSTM, seq2seq_ext.FusedLSTM, dict(num_layers=2, bidirectional=True, proj_size=3)),
    (nn.GRU, seq2seq_ext.FusedGRU, dict(num_layers=2, batch_first=True, dropout=0.2)),
    (nn.RNN, seq2seq_ext.FusedRNN, dict(nonlinearity="relu", bias=False)),
    (nn.LSTMCell, seq2seq_ext.FusedLSTMCell, {}),
    (nn.GRUCell, seq2seq_ext.FusedGRUCell, {}),
    (nn.RNNCell, seq2seq_ext.FusedRNNCell, dict(nonlinearity="relu")),
]
IDS = [fused.__name__ for _, fused, _ in PAIRS]


def build(cls, kwargs, seed=0, **extra):
    torch.manual_seed(seed)
    return cls(4, 5, **kwargs, **extra)


def run(module, x):
    """Every tensor the module returns, for a (7, 3, 4) or (3, 4) input."""
    return list(flat_tensors(module(x if isinstance(module, nn.RNNBase) else x[0])))


@pytest.mark.parametrize("torch_class, fused_class, kwargs", PAIRS, ids=IDS)
def test_an_instance_of_torch_nn_with_all_it_has(torch_class, fused_class, kwargs):
    theirs, ours = build(torch_class, kwargs).eval(), build(fused_class, kwargs).eval()
    assert isinstance(ours, torch_class)
    assert repr(ours) == repr(theirs).replace(torch_class.__name__, fused_class.__name__, 1)
    assert [name for name, _ in ours.named_parameters()] == [
        name for name, _ in theirs.named_parameters()
    ]
    for name, attribute in vars(theirs).items():
        if not name.startswith("_") and not isinstance(attribute, torch.Tensor):
            assert getattr(ours, name) == attribute, name
    if isinstance(theirs, nn.RNNBase):
        assert ours._flat_weights_names == theirs._flat_weights_names
        assert [w.shape for w in ours._flat_weights] == [w.shape for w in theirs._flat_weights]
        assert [[w.shape for w in layer] for layer in ours.all_weights] == [
            [w.shape for w in layer] for layer in theirs.all_weights
        ]
        ours.flatten_parameters()
    # state_dict both ways, and the same results from the same weights
    ours.load_state_dict(theirs.state_dict())
    back = build(torch_class, kwargs, seed=1).eval()
    back.load_state_dict(ours.state_dict())
    x = torch.randn(7, 3, 4)
    for a, b in zip(run(ours, x), run(back, x)):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("torch_class, fused_class, kwargs", PAIRS, ids=IDS)
def test_dtype_moves_copies_and_pickles_keep_working(torch_class, fused_class, kwargs):
    ours = build(fused_class, kwargs).eval()
    x = torch.randn(7, 3, 4)
    expected = run(ours, x)
    for copied in (
        copy.deepcopy(ours),
        pickle.loads(pickle.dumps(ours)),
        torch.load(_saved(ours), weights_only=False),
    ):
        assert type(copied) is fused_class
        for a, b in zip(run(copied, x), expected):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
    for dtype in (torch.float64, torch.bfloat16, torch.float32):
        moved = ours.to(dtype)
        assert all(p.dtype == dtype for p in moved.parameters())
        assert all(o.dtype == dtype for o in run(moved, x.to(dtype)))
    assert ours.double() is ours and ours.half() is ours


def _saved(module):
    buffer = io.BytesIO()
    torch.save(module, buffer)
    buffer.seek(0)
    return buffer


class Toolkit(nn.Module):
    """A model as toolkits write them: recurrent modules at every depth."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.LSTM(4, 5, num_layers=2, bidirectional=True, batch_first=True)
        self.layers = nn.ModuleList([nn.GRUCell(10, 6), nn.Sequential(nn.RNNCell(6, 6))])
        self.heads = nn.ModuleDict({"gru": nn.GRU(10, 3), "out": nn.Linear(3, 2)})

    def forward(self, x):
        out, (h, c) = self.encoder(x)
        state = self.layers[1][0](self.layers[0](out[:, -1]))
        seq, _ = self.heads["gru"](out)
        return self.heads["out"](seq).sum(1) + state.sum(1, keepdim=True) + h.sum() + c.sum()


@pytest.mark.parametrize("device", DEVICES)
def test_convert_swaps_in_place_and_back(device):
    torch.manual_seed(0)
    model = Toolkit().to(device, torch.float64).eval()
    x = torch.randn(2, 7, 4, device=device, dtype=torch.float64)
    expected = model(x)
    parameters = list(model.parameters())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    calls = []
    model.encoder.register_forward_hook(lambda *args: calls.append(1))
    assert convert(model) is model
    kinds = [
        type(m) for m in (model.encoder, model.layers[0], model.layers[1][0], model.heads["gru"])
    ]
    assert kinds == [
        seq2seq_ext.FusedLSTM,
        seq2seq_ext.FusedGRUCell,
        seq2seq_ext.FusedRNNCell,
        seq2seq_ext.FusedGRU,
    ]
    assert all(a is b for a, b in zip(model.parameters(), parameters))
    assert not model.training and parameters[0].device.type == device
    torch.testing.assert_close(model(x), expected, rtol=1e-12, atol=1e-12)
    assert calls == [1]  # the hook went along
    # The optimizer made before the swap steps the parameters the model uses.
    model(x).sum().backward()
    optimizer.step()
    assert not torch.allclose(model(x), expected)
    stepped = model(x)
    convert(model, to="torch")
    assert type(model.encoder) is nn.LSTM and type(model.heads["gru"]) is nn.GRU
    torch.testing.assert_close(model(x), stepped, rtol=1e-12, atol=1e-12)


def test_convert_the_root_module_and_refuse_what_it_cannot():
    lstm = nn.LSTM(3, 4)
    assert type(convert(lstm)) is seq2seq_ext.FusedLSTM

    class DroppedLSTM(nn.LSTM):  # its own forward would be lost
        def forward(self, input, hx=None):
            return super().forward(nn.functional.dropout(input, 0.5), hx)

    model = nn.Sequential(nn.GRU(3, 4), DroppedLSTM(4, 4))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        convert(model)
    assert [str(w.message) for w in caught] == [
        "seq2seq_ext.convert: 1 (test_convert_the_root_module_and_refuse_what_it_cannot."
        "<locals>.DroppedLSTM) is a subclass of LSTM with code of its own, left as it is"
    ]
    assert type(model[0]) is seq2seq_ext.FusedGRU and type(model[1]) is DroppedLSTM
    with pytest.raises(ValueError, match="to must be one of"):
        convert(model, to="cudnn")


def test_compile_gives_one_graph_matching_eager():
    torch.manual_seed(0)
    model = convert(Toolkit())
    x = torch.randn(2, 7, 4, requires_grad=True)
    expected = model(x)
    (expected_grad,) = torch.autograd.grad(expected.sum(), x)
    compiled = seq2seq_ext.compile(model, fullgraph=True, backend="aot_eager")
    got = compiled(x)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(torch.autograd.grad(got.sum(), x)[0], expected_grad)
    assert torch._dynamo.config.allow_rnn is False


def test_plain_torch_compile_runs_with_a_break_at_each_recurrent_module():
    torch.manual_seed(0)
    model = convert(Toolkit())
    x = torch.randn(2, 7, 4)
    explained = torch._dynamo.explain(model)(x)
    assert explained.graph_break_count >= 1  # Dynamo hands the RNNs to eager
    torch.testing.assert_close(torch.compile(model, backend="aot_eager")(x), model(x))


@requires_cuda
def test_compile_reduce_overhead_on_cuda():
    """CUDA graphs: one graph, replayed, matching eager."""
    torch.manual_seed(0)
    model = convert(Toolkit()).cuda().eval()
    compiled = seq2seq_ext.compile(model, fullgraph=True, mode="reduce-overhead")
    for _ in range(3):  # record, then replay
        x = torch.randn(2, 7, 4, device="cuda")
        torch.testing.assert_close(compiled(x).clone(), model(x))


COMPILE_SCRIPT = """
import torch
config_before = torch._dynamo.config.get_config_copy()
import seq2seq_ext
assert torch._dynamo.config.get_config_copy() == config_before, "importing changed Dynamo's config"
model = seq2seq_ext.convert(torch.nn.Sequential(torch.nn.LSTM(4, 5)))
seq2seq_ext.compile(model, fullgraph=True, backend="aot_eager")(torch.randn(6, 2, 4))
assert torch._dynamo.config.get_config_copy() == config_before, "compile left Dynamo changed"
# A plain torch.nn.LSTM compiled afterwards runs as it always did: Dynamo leaves
# it to eager torch (tracing it instead fails on the CPU).
plain = torch.nn.LSTM(4, 5)
x = torch.randn(6, 2, 4)
torch.testing.assert_close(torch.compile(plain)(x)[0], plain(x)[0])
print("compile ok")
"""


def test_compile_changes_nothing_for_torch_nn_modules():
    """On import and after seq2seq_ext.compile, Dynamo's settings are as they
    were, and a plain nn.LSTM compiles as before (a fresh process)."""
    result = subprocess.run(
        [sys.executable, "-c", COMPILE_SCRIPT], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "compile ok" in result.stdout


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(20, 4)
        self.rnn = seq2seq_ext.FusedLSTM(4, 5, num_layers=2, bidirectional=True, batch_first=True)
        self.cell = seq2seq_ext.FusedGRUCell(10, 6)

    def forward(self, tokens):
        out, (h, c) = self.rnn(self.embedding(tokens))
        return self.cell(out[:, -1]), h, c


def test_export_runs_matches_eager_and_saves(tmp_path):
    torch.manual_seed(0)
    model = Encoder().eval()
    tokens = torch.randint(0, 20, (3, 7))
    batch, steps = torch.export.Dim("batch"), torch.export.Dim("steps")
    exported = torch.export.export(model, (tokens,), dynamic_shapes=({0: batch, 1: steps},))
    torch.export.save(exported, tmp_path / "encoder.pt2")
    loaded = torch.export.load(tmp_path / "encoder.pt2")
    for other in (tokens, torch.randint(0, 20, (5, 11))):
        expected = model(other)
        for program in (exported, loaded):
            for a, b in zip(program.module()(other), expected):
                torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_export_seq2seq_teacher_forced_forward(tmp_path):
    """The whole teacher-forced pass, with dynamic batch, source and target
    lengths: the encoder packs with static shapes under export (the same numbers
    as pack_padded_sequence, which export cannot trace)."""
    torch.manual_seed(0)
    config = seq2seq_ext.Seq2SeqConfig(
        11,
        13,
        embedding_size=8,
        hidden_size=6,
        num_layers=2,
        cell="lstm",
        bidirectional=True,
        attention="bahdanau",
    )
    model = seq2seq_ext.Seq2Seq(config).double().eval()
    src, lengths = torch.randint(4, 11, (4, 7)), torch.tensor([7, 3, 5, 1])
    tgt = torch.randint(3, 13, (4, 6))
    batch, source, target = (torch.export.Dim(n, min=m) for n, m in (("B", 2), ("S", 2), ("T", 3)))
    exported = torch.export.export(
        model,
        (src, lengths, tgt),
        dynamic_shapes=({0: batch, 1: source}, {0: batch}, {0: batch, 1: target}),
    )
    torch.export.save(exported, tmp_path / "seq2seq.pt2")
    loaded = torch.export.load(tmp_path / "seq2seq.pt2")
    other = (torch.randint(4, 11, (3, 9)), torch.tensor([2, 9, 4]), torch.randint(3, 13, (3, 4)))
    for args in ((src, lengths, tgt), other):
        expected = model(*args)
        for program in (exported, loaded):
            torch.testing.assert_close(program.module()(*args), expected, rtol=0, atol=1e-12)


AOTI_SCRIPT = """
import sys, torch
if sys.argv[2] == "with the library":
    import seq2seq_ext  # registers the ops the compiled model calls
runner = torch._inductor.aoti_load_package(sys.argv[1])
reference = torch.load(sys.argv[1] + ".reference")
for got, expected in zip(runner(reference["tokens"]), reference["expected"]):
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
print("aoti ok", tuple(runner(torch.randint(0, 20, (5, 11)))[0].shape))
"""


def test_aot_inductor_package_runs_in_a_fresh_process(tmp_path):
    """AOTInductor compiles the exported encoder into a package whose C++ calls
    our ops through the dispatcher: a fresh process runs it once it has imported
    seq2seq_ext (which loads the op library), and says what is missing if not."""
    torch.manual_seed(0)
    model = Encoder().eval()
    tokens = torch.randint(0, 20, (3, 7))
    steps = torch.export.Dim("steps", min=2)
    exported = torch.export.export(
        model, (tokens,), dynamic_shapes=({0: torch.export.Dim("batch", min=2), 1: steps},)
    )
    package = str(tmp_path / "encoder.pt2")
    torch._inductor.aoti_compile_and_package(exported, package_path=package)
    torch.save({"tokens": tokens, "expected": model(tokens)}, package + ".reference")
    for library, ok in (("with the library", True), ("without", False)):
        result = subprocess.run(
            [sys.executable, "-c", AOTI_SCRIPT, package, library],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if ok:
            assert result.returncode == 0, result.stderr[-3000:]
            assert "aoti ok (5, 6)" in result.stdout
        else:
            assert "Could not find schema for seq2seq_ext::" in result.stderr
