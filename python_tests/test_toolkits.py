"""Published seq2seq toolkits, run unchanged on our layers: the recurrent
encoders and attention decoders of JoeyNMT and OpenNMT-py, built by the
toolkits' own model builders (with their own weight initialisers), give the
same losses, outputs and gradients on seq2seq_ext's Fused modules as on
torch.nn's, in float64 to TOLERANCES[float64].

Our layers go in two ways: seq2seq_ext.convert() on the model the toolkit built
("convert"), and the toolkit building the model while the `nn` name in the
modules that construct its RNNs is bound to a torch.nn whose LSTM, GRU, RNN and
cells are ours ("patched"; pytest's monkeypatch undoes it).

The toolkits are not in requirements-dev.txt: their declared dependencies are
heavy (datasets, pandas, pyarrow, grpcio, spacy, ...; JoeyNMT pins protobuf<3.21,
OpenNMT-py 3.5 pins torch<2.3, which pip would install over ours). The session
fixture `toolkits` installs the pinned releases with --no-deps, together with
only what their modules import, into pytest's cache directory (once, about 10 s
on a fresh machine) and appends that directory to sys.path, so it shadows
nothing installed."""

import functools
import hashlib
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import TOLERANCES, assert_close_scaled
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

import seq2seq_ext
from seq2seq_ext.convert import FUSED  # torch.nn's recurrent classes -> ours

# Pinned: the tests run these releases' code unchanged.
TOOLKIT_PACKAGES = (
    "joeynmt==2.3.0",
    # 3.0.4 rather than 3.5, which imports spacy, fasttext and pyahocorasick
    # with onmt: 3.5's RNN encoder, rnn_factory and stacked cells are the same
    # code, reformatted; its decoders differ in map_state's convention only.
    "OpenNMT-py==3.0.4",
    # What importing their model modules needs, beyond torch's venv:
    "pyonmttok==1.38.1",  # onmt.inputters
    "ConfigArgParse==1.9.0",  # onmt.opts
    "rapidfuzz==3.14.6",  # onmt.transforms
    "PyYAML==6.0.3",  # both configs
    "tensorboard==2.21.0",  # joeynmt.helpers imports torch.utils.tensorboard ...
    "protobuf==7.36.2",  # ... which imports these two
    "absl-py==2.5.1",
    "importlib_metadata==8.7.0",  # joeynmt.helpers
    "zipp==4.1.2",  # importlib_metadata's
    "sentencepiece==0.2.3",  # joeynmt.tokenizers, via joeynmt.vocabulary
    "subword-nmt==0.3.8",
)
INSTALLED_MARK = "installed.txt"
TOL = TOLERANCES[torch.float64]
WAYS = ["convert", "patched"]


# ---------------------------------------------------------------- installation


@pytest.fixture(scope="session")
def toolkits(request, tmp_path_factory):
    """The directory the pinned toolkits are installed in (with pip --no-deps,
    once per set of pins), appended to sys.path. Where pip cannot reach the
    package index the tests skip, saying so, except in CI (CI=true), where they fail."""
    key = hashlib.sha256("\n".join(TOOLKIT_PACKAGES).encode()).hexdigest()[:12]
    cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    root = cache.mkdir("toolkits") if cache is not None else tmp_path_factory.mktemp("toolkits")
    target = root / key
    if not (target / INSTALLED_MARK).exists():
        staging = Path(tempfile.mkdtemp(dir=root, prefix="staging-"))
        command = [sys.executable, "-m", "pip", "install", "--no-deps", "--only-binary=:all:"]
        command += ["--disable-pip-version-check", "--no-input", "--quiet", "--target"]
        result = subprocess.run(
            [*command, str(staging), *TOOLKIT_PACKAGES], capture_output=True, text=True, timeout=600
        )
        if result.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            message = f"pip could not install the toolkits:\n{result.stdout}{result.stderr}"
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message + "(offline? CI=true makes this a failure)")
        (staging / INSTALLED_MARK).write_text("\n".join(TOOLKIT_PACKAGES) + "\n")
        try:
            staging.rename(target)
        except OSError:  # another session installed them meanwhile
            shutil.rmtree(staging, ignore_errors=True)
    if str(target) not in sys.path:
        sys.path.append(str(target))
        importlib.invalidate_caches()
    return target


def _import(directory, package, *submodules):
    """`package`, with its `submodules` imported; it must be the pinned release
    installed in `directory`, not another one found earlier on sys.path."""
    with warnings.catch_warnings():
        # onmt.modules.sru uses torch.cuda.amp's deprecated decorators
        warnings.simplefilter("ignore", FutureWarning)
        for name in submodules:
            importlib.import_module(f"{package}.{name}")
    module = sys.modules[package]
    assert Path(module.__file__).resolve().is_relative_to(Path(directory).resolve()), (
        f"{package} is imported from {module.__file__}, not from the pinned release in {directory}"
    )
    return module


@pytest.fixture(scope="session")
def joey(toolkits):
    """The joeynmt package, with the submodules the tests use imported."""
    return _import(
        toolkits,
        "joeynmt",
        "batch",
        "config",
        "decoders",
        "encoders",
        "initialization",
        "model",
        "search",
        "vocabulary",
    )


@pytest.fixture(scope="session")
def onmt(toolkits):
    """The onmt package (OpenNMT-py), with the submodules the tests use imported."""
    return _import(
        toolkits,
        "onmt",
        "constants",
        "inputters.inputter",
        "model_builder",
        "modules.stacked_rnn",
        "opts",
        "utils.parse",
        "utils.rnn_factory",
    )


# ---------------------------------------------------------------- our layers in


class _FusedTorchNN(types.ModuleType):
    """torch.nn, but for its recurrent classes, which are ours."""

    def __getattr__(self, name):
        return getattr(nn, name)


FUSED_NN = _FusedTorchNN("torch.nn")
for _torch_class, _fused_class in FUSED.items():
    setattr(FUSED_NN, _torch_class.__name__, _fused_class)


def patch_nn(monkeypatch, *modules):
    """Binds the name `nn` (torch.nn) in each of the toolkit's `modules` to
    FUSED_NN, for the rest of the test."""
    for module in modules:
        assert module.nn is nn, f"{module.__name__} does not look up torch.nn as nn"
        monkeypatch.setattr(module, "nn", FUSED_NN)


def recurrent_classes(model):
    """The classes of the recurrent modules in `model`."""
    return {type(m) for m in model.modules() if isinstance(m, tuple(FUSED))}


def assert_all_ours(model):
    classes = recurrent_classes(model)
    assert classes and classes <= set(FUSED.values()), classes


def assert_all_torch(model):
    classes = recurrent_classes(model)
    assert classes and classes <= set(FUSED), classes


class OpsCalled(TorchDispatchMode):
    """Records the seq2seq_ext ops that run while it is active."""

    def __init__(self):
        super().__init__()
        self.ops = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        namespace, _, name = func.name().partition("::")
        if namespace == "seq2seq_ext":
            self.ops.add(name)
        return func(*args, **(kwargs or {}))


def ops_of(kind, *units):
    """The forward and backward ops of `kind` (lstm, gru) for each unit (layer, cell)."""
    return {f"{kind}_{unit}{suffix}" for unit in units for suffix in ("", "_backward")}


def assert_same_state(ours, theirs):
    """The same parameter names, in the same order, with equal values."""
    ours, theirs = ours.state_dict(), theirs.state_dict()
    assert list(ours) == list(theirs)
    for name in theirs:
        assert torch.equal(ours[name], theirs[name]), name


def built_twice(build, monkeypatch, way, patch_sites):
    """(ours, torch's): the toolkit's model built twice by `build` (which seeds
    itself), in float64; ours by `way`: converted, or built with `nn` bound to
    FUSED_NN in the toolkit's modules `patch_sites`."""
    theirs = build()
    if way == "convert":
        ours = seq2seq_ext.convert(build())
    else:
        with monkeypatch.context() as patched:
            patch_nn(patched, *patch_sites)
            ours = build()
    assert_all_ours(ours)
    assert_all_torch(theirs)
    # Built from the same seed, the toolkit's initialisers gave the same weights.
    assert_same_state(ours, theirs)
    return ours.double(), theirs.double()


class Run:
    """What one training step of a model gives: named outputs, the gradients of
    every parameter, and those of the embedded inputs (the outputs of the
    embedding modules, which the encoder and the decoder take)."""

    def __init__(self, model, embedders, step):
        embedded = {}

        def keep(name):
            def hook(module, args, output):
                output.retain_grad()
                embedded[name] = output

            return hook

        handles = [m.register_forward_hook(keep(n)) for n, m in embedders.items()]
        try:
            torch.manual_seed(1)  # the same dropout masks for both
            self.outputs, objective = step(model)
        finally:
            for handle in handles:
                handle.remove()
        model.zero_grad(set_to_none=True)
        objective.backward()
        self.gradients = {f"grad of {n}": p.grad for n, p in model.named_parameters()}
        self.gradients.update({f"grad of {n} output": t.grad for n, t in embedded.items()})
        assert len(embedded) == len(embedders)


def assert_same_runs(ours: Run, theirs: Run):
    assert list(ours.outputs) == list(theirs.outputs)
    for name, expected in theirs.outputs.items():
        assert_close_scaled(ours.outputs[name], expected, TOL, name)
    assert list(ours.gradients) == list(theirs.gradients)
    for name, expected in theirs.gradients.items():
        assert expected is not None and ours.gradients[name] is not None, name
        assert_close_scaled(ours.gradients[name], expected, TOL, name)


def swap_gate_blocks(rnn, name, hidden):
    """A planted bug: exchanges the first two gate blocks of `rnn`'s weight `name`."""
    with torch.no_grad():
        weight = getattr(rnn, name)
        first = weight[:hidden].clone()
        weight[:hidden] = weight[hidden : 2 * hidden]
        weight[hidden : 2 * hidden] = first


def weighted_sum(tensor, seed=2):
    """A fixed random linear function of `tensor`: every element gets a gradient."""
    gen = torch.Generator().manual_seed(seed)
    return (tensor * torch.randn(tensor.shape, generator=gen, dtype=tensor.dtype)).sum()


# ---------------------------------------------------------------- JoeyNMT

JOEY_SRC_TOKENS, JOEY_TRG_TOKENS = list("abcdefg"), list("hijklmnop")


def joey_config(rnn_type, attention):
    """A small recurrent model config: bidirectional 2-layer encoder, 2-layer
    input-feeding decoder with `attention` ("bahdanau" or "luong"), dropout
    everywhere, and JoeyNMT's RNN initialisers: orthogonal recurrent weights
    and LSTM forget-gate biases of 1.5 (over uniform biases)."""
    layers = dict(type="recurrent", rnn_type=rnn_type, hidden_size=6, num_layers=2, dropout=0.2)
    return {
        "encoder": dict(
            layers, bidirectional=True, embeddings={"embedding_dim": 8, "dropout": 0.1}
        ),
        "decoder": dict(
            layers,
            embeddings={"embedding_dim": 8, "dropout": 0.1},
            attention=attention,
            input_feeding=True,
            init_hidden="bridge",
            hidden_dropout=0.1,
        ),
        "initializer": "xavier_uniform",
        "bias_initializer": "uniform",
        "bias_init_weight": 0.5,
        "init_rnn_orthogonal": True,
        "lstm_forget_gate": 1.5,
    }


def joey_vocabularies(joey):
    """Source and target vocabularies with JoeyNMT's default special symbols
    (UNK 0, PAD 1, BOS 2, EOS 3)."""
    specials = types.SimpleNamespace(**joey.config._check_special_symbols({}))
    return (
        joey.vocabulary.Vocabulary(JOEY_SRC_TOKENS, specials),
        joey.vocabulary.Vocabulary(JOEY_TRG_TOKENS, specials),
    )


def joey_build(joey, cfg, seed=0):
    """joeynmt.model.build_model (which runs initialize_model) from `seed`."""
    torch.manual_seed(seed)
    model = joey.model.build_model(cfg, *joey_vocabularies(joey))
    model.loss_function = ("crossentropy", 0.1)
    return model


def joey_pair(joey, monkeypatch, cfg, way):
    """(ours, torch's) JoeyNMT model, as built_twice."""
    build = functools.partial(joey_build, joey, cfg)
    return built_twice(build, monkeypatch, way, (joey.encoders, joey.decoders))


def joey_batch(joey, with_target=True):
    """A joeynmt Batch of 3: sources of lengths 6, 4, 2 (sorted: JoeyNMT's
    encoder packs with enforce_sorted), padded targets; BOS 2, EOS 3, PAD 1."""
    src = torch.tensor([[4, 5, 6, 7, 8, 3], [9, 10, 4, 3, 1, 1], [5, 3, 1, 1, 1, 1]])
    trg = torch.tensor([[2, 4, 5, 6, 7, 3], [2, 8, 9, 3, 1, 1], [2, 10, 11, 12, 3, 1]])
    return joey.batch.Batch(
        src=src,
        src_length=(src != 1).sum(1),
        src_prompt_mask=None,
        trg=trg if with_target else None,
        trg_prompt_mask=None,
        indices=torch.arange(3),
        device=torch.device("cpu"),
        pad_index=1,
        eos_index=3,
    )


def joey_training_step(batch):
    """JoeyNMT's training forward (Model(return_type="loss"), as its trainer
    calls it), in train mode; the objective adds a random linear function of
    the log-probabilities so that every one of them gets a gradient."""

    def step(model):
        model.train()
        loss, log_probs, att_probs, _ = model(return_type="loss", **vars(batch))
        outputs = {"loss": loss, "log_probs": log_probs, "att_probs": att_probs}
        return outputs, loss + weighted_sum(log_probs)

    return step


def joey_run(model, batch):
    return Run(model, {"src_embed": model.src_embed, "trg_embed": model.trg_embed}, batch)


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("attention", ["bahdanau", "luong"])
@pytest.mark.parametrize("rnn_type", ["lstm", "gru"])
def test_joeynmt_training_step_matches_torch(joey, monkeypatch, rnn_type, attention, way):
    """JoeyNMT's recurrent model (RecurrentEncoder: packed bidirectional
    nn.LSTM/GRU; RecurrentDecoder: nn.LSTM/GRU stepped one token at a time with
    input feeding and Bahdanau or Luong attention; the LSTM's initial state
    built as (h, h) on `isinstance(rnn, nn.LSTM)`), one training step with
    dropout: the same loss, log-probabilities, attention, gradients of every
    parameter and of the embedded source and target as on torch.nn; our ops ran."""
    ours, theirs = joey_pair(joey, monkeypatch, joey_config(rnn_type, attention), way)
    step = joey_training_step(joey_batch(joey))
    expected = joey_run(theirs, step)
    with OpsCalled() as called:
        got = joey_run(ours, step)
    assert called.ops == ops_of(rnn_type, "layer")
    assert_same_runs(got, expected)


@pytest.mark.parametrize("beam_size", [1, 3])
@pytest.mark.parametrize("rnn_type", ["lstm", "gru"])
def test_joeynmt_search_matches_torch(joey, monkeypatch, rnn_type, beam_size):
    """joeynmt.search.search, greedy and beam search: the decoder runs one step
    per call from the hidden state the previous call returned (batch-first,
    permuted back; re-ordered along the beams): the same hypotheses, and the
    same scores and attention to float32's tolerance (JoeyNMT returns them
    cast to float32)."""
    ours, theirs = joey_pair(joey, monkeypatch, joey_config(rnn_type, "bahdanau"), "convert")
    batch = joey_batch(joey, with_target=False)

    def search(model):
        model.eval()
        return joey.search.search(
            model,
            batch,
            max_output_length=7,
            beam_size=beam_size,
            beam_alpha=1.0,
            return_prob="hyp",
        )

    expected = search(theirs)
    with OpsCalled() as called:
        got = search(ours)
    assert called.ops == {f"{rnn_type}_layer"}
    tokens, scores, attention = got
    expected_tokens, expected_scores, expected_attention = expected
    np.testing.assert_array_equal(tokens, expected_tokens)
    tol = TOLERANCES[torch.float32]
    assert_close_scaled(torch.from_numpy(scores), torch.from_numpy(expected_scores), tol, "scores")
    if beam_size == 1:  # JoeyNMT's beam search returns no attention for RNNs
        assert_close_scaled(
            torch.from_numpy(attention), torch.from_numpy(expected_attention), tol, "attention"
        )
    else:
        assert attention is None and expected_attention is None


@pytest.mark.parametrize("rnn_type", ["lstm", "gru"])
def test_joeynmt_initialize_model_does_the_same_to_ours(joey, rnn_type):
    """joeynmt.initialization.initialize_model run again on a converted model
    from the same seed: the same weights as on torch's (it picks the Xavier
    split, 4 or 3 gates, and sets the LSTM forget gates, on
    `isinstance(rnn, nn.LSTM)`); the forget-gate biases are 1.5."""
    cfg = joey_config(rnn_type, "bahdanau")
    theirs, ours = joey_build(joey, cfg), seq2seq_ext.convert(joey_build(joey, cfg))
    for model in (theirs, ours):
        torch.manual_seed(7)
        joey.initialization.initialize_model(model, cfg, 1, 1)
    assert_all_ours(ours)
    assert_same_state(ours, theirs)
    assert not torch.equal(
        ours.encoder.rnn.weight_hh_l0, joey_build(joey, cfg).encoder.rnn.weight_hh_l0
    )
    if rnn_type == "lstm":
        for rnn in (ours.encoder.rnn, ours.decoder.rnn):
            for name, bias in rnn.named_parameters():
                if name.startswith("bias"):
                    assert torch.all(bias[6:12] == 1.5), name


@pytest.mark.parametrize("toolkit", ["joeynmt", "opennmt"])
def test_the_comparison_sees_a_planted_bug(request, monkeypatch, toolkit):
    """The comparison fails when our model has one weight wrong: the input and
    forget gate blocks of the decoder's recurrent weight exchanged."""
    if toolkit == "joeynmt":
        joey = request.getfixturevalue("joey")
        ours, theirs = joey_pair(joey, monkeypatch, joey_config("lstm", "luong"), "convert")
        swap_gate_blocks(ours.decoder.rnn, "weight_hh_l1", 6)
        step = joey_training_step(joey_batch(joey))
        expected, got = joey_run(theirs, step), joey_run(ours, step)
    else:
        onmt = request.getfixturevalue("onmt")
        ours, theirs = onmt_pair(onmt, monkeypatch, onmt_options(onmt, "LSTM", True), "convert")
        swap_gate_blocks(ours.decoder.rnn.layers[1], "weight_hh", 6)
        expected, got = onmt_run(theirs), onmt_run(ours)
    with pytest.raises(AssertionError, match="max error"):
        assert_same_runs(got, expected)


# ---------------------------------------------------------------- OpenNMT-py

ONMT_SRC_TOKENS, ONMT_TGT_TOKENS = list("abcdefg"), list("hijklmnop")
# Sources of lengths 4, 6, 2, unsorted (OpenNMT's encoder packs them unsorted);
# targets start with BOS (2) and are padded with PAD (1).
ONMT_SRC = torch.tensor([[4, 5, 6, 3, 1, 1], [7, 8, 9, 10, 4, 3], [5, 3, 1, 1, 1, 1]])
ONMT_TGT = torch.tensor([[2, 4, 5, 6, 3, 1], [2, 7, 8, 9, 10, 3], [2, 11, 3, 1, 1, 1]])


def onmt_options(onmt, rnn_type, input_feed, *extra):
    """OpenNMT-py's training options for a bidirectional 2-layer encoder
    (hidden 6) and a 2-layer decoder: with input feeding (InputFeedRNNDecoder
    on its StackedLSTM/GRU of nn.LSTMCell/GRUCell) and MLP (Bahdanau)
    attention, or without (StdRNNDecoder on nn.LSTM/GRU) and general (Luong)
    attention and the encoder-state bridge; embeddings 8, dropout 0.3."""
    parser = onmt.utils.parse.ArgumentParser()
    onmt.opts.train_opts(parser)
    args = ["-data", "{}", "-src_vocab", "unused", "-encoder_type", "brnn", "-rnn_type", rnn_type]
    args += ["-word_vec_size", "8", "-hidden_size", "6", "-layers", "2", "-dropout", "0.3"]
    if input_feed:
        args += ["-input_feed", "1", "-global_attention", "mlp"]
    else:
        args += ["-input_feed", "0", "-global_attention", "general", "-bridge"]
    opt = parser.parse_args(args + list(extra))
    onmt.utils.parse.ArgumentParser.update_model_opts(opt)
    onmt.utils.parse.ArgumentParser.validate_model_opts(opt)
    return opt


def onmt_build(onmt, opt, seed=0):
    """onmt.model_builder.build_base_model (which initialises the weights:
    uniform(-param_init, param_init), or Xavier with -param_init_glorot) from `seed`."""
    specials = [onmt.constants.DefaultTokens.UNK, onmt.constants.DefaultTokens.PAD]
    specials += [onmt.constants.DefaultTokens.BOS, onmt.constants.DefaultTokens.EOS]
    vocabs = onmt.inputters.inputter.dict_to_vocabs(
        {
            "src": specials + ONMT_SRC_TOKENS,
            "tgt": specials + ONMT_TGT_TOKENS,
            "data_task": "seq2seq",
        }
    )
    torch.manual_seed(seed)
    return onmt.model_builder.build_base_model(opt, vocabs, gpu=False)


def onmt_pair(onmt, monkeypatch, opt, way):
    """(ours, torch's) NMTModel, as built_twice."""
    build = functools.partial(onmt_build, onmt, opt)
    return built_twice(build, monkeypatch, way, (onmt.utils.rnn_factory, onmt.modules.stacked_rnn))


def onmt_training_step(model):
    """NMTModel's teacher-forced forward (as its trainer calls it), the
    generator and the NLL of the next tokens, in train mode."""
    model.train()
    src, tgt = ONMT_SRC.unsqueeze(-1), ONMT_TGT.unsqueeze(-1)
    dec_out, attns = model(src, tgt, (ONMT_SRC != 1).sum(1))
    log_probs = F.log_softmax(model.generator(dec_out), dim=-1)
    loss = F.nll_loss(log_probs.transpose(1, 2), ONMT_TGT[:, 1:], ignore_index=1)
    outputs = {"dec_out": dec_out, "attention": attns["std"], "log_probs": log_probs, "loss": loss}
    return outputs, loss + weighted_sum(log_probs)


def onmt_run(model):
    embedders = {"encoder": model.encoder.embeddings, "decoder": model.decoder.embeddings}
    return Run(model, embedders, onmt_training_step)


def onmt_ops(opt):
    kind = opt.rnn_type.lower()
    return ops_of(kind, "layer", "cell") if opt.input_feed else ops_of(kind, "layer")


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("input_feed", [True, False], ids=["input_feed", "std"])
@pytest.mark.parametrize("rnn_type", ["LSTM", "GRU"])
def test_opennmt_training_step_matches_torch(onmt, monkeypatch, rnn_type, input_feed, way):
    """OpenNMT-py's RNNEncoder (bidirectional nn.LSTM/GRU from its rnn_factory,
    over unsorted packed sources) and its InputFeedRNNDecoder (StackedLSTM/GRU
    of nn cells) or StdRNNDecoder (nn.LSTM/GRU over the whole target, which
    it tells apart with `isinstance(rnn, nn.GRU)`), one training step with
    dropout: the same decoder outputs, attention, log-probabilities, loss,
    gradients of every parameter and of the embedded source and target as on
    torch.nn; our ops ran."""
    opt = onmt_options(onmt, rnn_type, input_feed)
    ours, theirs = onmt_pair(onmt, monkeypatch, opt, way)
    expected = onmt_run(theirs)
    with OpsCalled() as called:
        got = onmt_run(ours)
    assert called.ops == onmt_ops(opt)
    assert_same_runs(got, expected)


def onmt_decode(model, steps=5):
    """Greedy decoding as OpenNMT's translator drives the decoder: init_state
    from the encoder, then one token per call with `step`, the state carried in
    the decoder; after the second step the batch is re-ordered with map_state
    (as beam search does). Returns the tokens and their log-probabilities."""
    model.eval()
    src, src_len = ONMT_SRC.unsqueeze(-1), (ONMT_SRC != 1).sum(1)
    with torch.no_grad():
        enc_out, enc_final_hs, src_len = model.encoder(src, src_len)
        model.decoder.init_state(src, enc_out, enc_final_hs)
        token = torch.full((len(src), 1, 1), 2)
        tokens, scores = [], []
        for step in range(steps):
            dec_out, _ = model.decoder(token, enc_out, src_len=src_len, step=step)
            score, best = F.log_softmax(model.generator(dec_out.squeeze(1)), dim=-1).max(-1)
            tokens.append(best)
            scores.append(score)
            token = best.view(-1, 1, 1)
            if step == 1:
                order = torch.tensor([2, 0, 1])
                model.decoder.map_state(lambda state, dim: state.index_select(dim, order))
                enc_out, src_len, token = enc_out[order], src_len[order], token[order]
    return torch.stack(tokens, 1), torch.stack(scores, 1)


@pytest.mark.parametrize("input_feed", [True, False], ids=["input_feed", "std"])
@pytest.mark.parametrize("rnn_type", ["LSTM", "GRU"])
def test_opennmt_stepwise_decoding_matches_torch(onmt, monkeypatch, rnn_type, input_feed):
    """Step-by-step decoding (the decoder's RNN called with the state it
    returned, re-ordered once): the same tokens and log-probabilities."""
    opt = onmt_options(onmt, rnn_type, input_feed)
    ours, theirs = onmt_pair(onmt, monkeypatch, opt, "convert")
    expected_tokens, expected_scores = onmt_decode(theirs)
    with OpsCalled() as called:
        tokens, scores = onmt_decode(ours)
    assert called.ops == {op for op in onmt_ops(opt) if not op.endswith("_backward")}
    assert torch.equal(tokens, expected_tokens)
    assert_close_scaled(scores, expected_scores, TOL, "log-probabilities")


@pytest.mark.parametrize("init", ["param_init", "param_init_glorot"])
@pytest.mark.parametrize("input_feed", [True, False], ids=["input_feed", "std"])
@pytest.mark.parametrize("rnn_type", ["LSTM", "GRU"])
def test_opennmt_initialisation_does_the_same_to_ours(
    onmt, monkeypatch, rnn_type, input_feed, init
):
    """build_base_model's initialisation (uniform over every parameter, or
    Xavier over the matrices) on a model built with our classes: the same
    weights as on torch's from the same seed (ours register the same
    parameters in the same order), and not those of another seed. (This
    initialisation is inline in build_base_model: it reaches our layers only
    when the toolkit builds the model with them, "patched".)"""
    extra = ["-param_init_glorot"] if init == "param_init_glorot" else ["-param_init", "0.4"]
    opt = onmt_options(onmt, rnn_type, input_feed, *extra)
    with monkeypatch.context() as patched:
        patch_nn(patched, onmt.utils.rnn_factory, onmt.modules.stacked_rnn)
        ours = onmt_build(onmt, opt, seed=3)
    theirs = onmt_build(onmt, opt, seed=3)
    assert_all_ours(ours)
    assert_same_state(ours, theirs)
    other = onmt_build(onmt, opt, seed=4)
    assert not torch.equal(ours.encoder.rnn.weight_hh_l0, other.encoder.rnn.weight_hh_l0)
    if init == "param_init":
        assert max(p.abs().max().item() for p in ours.parameters()) > 0.3
