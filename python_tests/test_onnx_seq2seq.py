"""A Seq2Seq model through ONNX (issue 34): ``export_seq2seq`` and ``python -m
seq2seq_ext export`` write its encoder and one decoder step as standard ONNX,
and ``OnnxSeq2Seq`` decodes them, greedy and beam search, on numpy and
onnxruntime, to the torch model's translations: the same tokens, lengths and
attention, the scores within SCORE_TOLERANCE; without torch installed too."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import REPO
from onnx_helpers import assert_standard_onnx_only, onnx, op_counts

from seq2seq_ext import Seq2Seq, Seq2SeqConfig
from seq2seq_ext.nmt import cli
from seq2seq_ext.nmt.data import EOS_INDEX, PAD_INDEX, SOS_INDEX, Vocab, pad_sequences, task_splits
from seq2seq_ext.nmt.trainer import load_model
from seq2seq_ext.nmt.translator import Translator
from seq2seq_ext.onnx import OnnxSeq2Seq, UnsupportedExport, export_seq2seq

# Sums of up to MAX_LEN float32 log-probabilities, onnxruntime's against our
# kernels' (observed: a few 1e-6).
SCORE_TOLERANCE = 1e-4
ATTENTION_TOLERANCE = 1e-5
MAX_LEN, BEAM = 12, 3

CONFIGS = {
    "2-layer bidirectional LSTM, Luong general, input feeding": dict(
        cell="lstm", num_layers=2, bidirectional=True, attention="luong-general", input_feeding=True
    ),
    "Elman RNN (relu), no attention, torch backend": dict(
        cell="rnn_relu", attention="none", backend="torch"
    ),
}


def random_batch(vocab_size, lengths):
    """Sentences of random tokens of these lengths, each ending in EOS, padded."""
    generator = torch.Generator().manual_seed(1)
    sentences = [
        torch.randint(4, vocab_size, (length - 1,), generator=generator).tolist() + [2]
        for length in lengths
    ]
    return pad_sequences(sentences, PAD_INDEX)


def assert_same_decoding(ours, expected):
    """A runner's Decoded (numpy) against the torch model's."""
    np.testing.assert_array_equal(ours.tokens, expected.tokens.numpy())
    np.testing.assert_array_equal(ours.lengths, expected.lengths.numpy())
    np.testing.assert_allclose(ours.scores, expected.scores.numpy(), rtol=0, atol=SCORE_TOLERANCE)
    assert (ours.attention is None) == (expected.attention is None)
    if ours.attention is not None:
        np.testing.assert_allclose(
            ours.attention, expected.attention.numpy(), rtol=0, atol=ATTENTION_TOLERANCE
        )


def assert_decodes_as(runner, model, src, lengths):
    for beam in (1, BEAM):
        if beam == 1:
            expected = model.greedy_decode(src, lengths, MAX_LEN)
            ours = runner.greedy_decode(src.numpy(), lengths.numpy(), MAX_LEN)
        else:
            expected = model.beam_search(src, lengths, beam, MAX_LEN, length_penalty=0.6)
            ours = runner.beam_search(src.numpy(), lengths.numpy(), beam, MAX_LEN, 0.6)
        assert_same_decoding(ours, expected)


@pytest.mark.parametrize("config", CONFIGS)
def test_onnx_decoding_equals_the_torch_models(tmp_path, config):
    options = CONFIGS[config]
    model = Seq2Seq(Seq2SeqConfig(30, 25, embedding_size=16, hidden_size=24, **options)).eval()
    with torch.no_grad():  # rows that end (EOS) at different steps, and some PAD and SOS
        model.decoder.output.bias[[PAD_INDEX, SOS_INDEX, EOS_INDEX]] += torch.tensor(
            [1.5, 1.5, 1.0]
        )
    src_vocab, tgt_vocab = (Vocab(f"t{i}" for i in range(4, size)) for size in (30, 25))
    written = export_seq2seq(model, tmp_path, src_vocab.itos, tgt_vocab.itos)
    for graph in ("encoder", "decoder_step"):
        exported = onnx.load(written[graph])
        assert_standard_onnx_only(exported)
        # A node per layer; the torch backend's decoder step is torch.nn's own
        # export (which unrolls an Elman RNN's one step into plain ops).
        if graph == "encoder" or options.get("backend") != "torch":
            recurrent_op = "LSTM" if options["cell"] == "lstm" else "RNN"
            assert op_counts(exported)[recurrent_op] == options.get("num_layers", 1)
    runner = OnnxSeq2Seq(tmp_path)
    # Lengths down to 1 (EOS alone), and a batch size other than the export's.
    src, lengths = random_batch(30, [9, 3, 5, 1, 9, 7, 4, 6])
    assert_decodes_as(runner, model, src, lengths)
    # Token lists through the exported vocabularies.
    greedy = model.greedy_decode(src, lengths, MAX_LEN)
    outputs = [row[:length] for row, length in zip(greedy.tokens.tolist(), greedy.lengths)]
    sources = [src_vocab.decode(row) for row in src.tolist()]
    expected = [tgt_vocab.decode(output) for output in outputs]
    assert runner.translate_tokens(sources, max_len=MAX_LEN) == expected


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model trained on reverse_words (configs/reverse_words.yaml, smaller and
    briefly: ~90% exact match), exported with the command line."""
    out = tmp_path_factory.mktemp("reverse_words")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: threads would only contend
    try:
        trained = cli.main(
            ["train", "--config", str(REPO / "configs" / "reverse_words.yaml")]
            + ["--examples", "1500", "--epochs", "5", "--hidden", "64", "--embedding", "32"]
            + ["--words", "8", "--min-len", "2", "--max-len", "5", "--batch-size", "32"]
            + ["--lr", "0.01", "--no-progress", "--out", str(out)]
        )
    finally:
        torch.set_num_threads(threads)
    exported = cli.main(
        ["export", "--checkpoint", str(out / "best.pt"), "--out", str(out / "onnx")]
    )
    return out, trained, exported


def test_trained_reverse_words_translates_alike_through_onnx(trained):
    """Its test split: token-exact greedy translations, and beam search's
    with its scores within SCORE_TOLERANCE."""
    out, result, exported = trained
    assert result["exact_match"] > 0.5  # it learnt the task
    assert exported["encoder"] == str(out / "onnx" / "encoder.onnx")
    model, extra = load_model(out / "best.pt")
    translator = Translator.from_loaded(model, extra, out / "best.pt", max_len=MAX_LEN)
    sources = [source for source, _ in task_splits(extra["data"], translator.tokenizer)[2]]
    assert len(sources) == result["test_examples"] > 50
    runner = OnnxSeq2Seq(out / "onnx")
    expected = [t.tokens for t in translator.translate_tokens(sources)]
    assert runner.translate_tokens(sources, max_len=MAX_LEN) == expected
    src, lengths = pad_sequences([translator.src_vocab.encode(s) for s in sources], PAD_INDEX)
    assert_decodes_as(runner, model, src, lengths)
    # Output ids to tokens as Vocab.decode: up to EOS, without PAD and SOS.
    ids = [5, SOS_INDEX, 6, PAD_INDEX, 4, EOS_INDEX, 7]
    assert runner._target_tokens(ids) == translator.tgt_vocab.decode(ids) != []


RUN_WITHOUT_TORCH = """
import json, sys
sys.modules["torch"] = None  # any import of torch now fails
sys.path.insert(0, sys.argv[1])
from onnx_seq2seq import OnnxSeq2Seq
print(json.dumps(OnnxSeq2Seq(sys.argv[1]).translate_tokens(json.loads(sys.argv[2]), beam_size=4)))
"""


def test_the_exported_folder_translates_without_torch(trained):
    out = trained[0] / "onnx"
    sources = [["w1", "w2", "w3"], ["w4", "w0"], ["unknown", "w5", "w6", "w7"]]
    completed = subprocess.run(
        [sys.executable, "-c", RUN_WITHOUT_TORCH, str(out), json.dumps(sources)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    translations = json.loads(completed.stdout)
    assert translations == OnnxSeq2Seq(out).translate_tokens(sources, beam_size=4)
    assert translations[0] == ["w3", "w2", "w1"]  # it reverses


WITHOUT_ONNX_PACKAGES = """
import sys

class Missing:  # the onnx extra not installed
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("onnx", "onnxscript", "onnxruntime"):
            raise ImportError(f"No module named {name!r}")

sys.meta_path.insert(0, Missing())
import torch
import seq2seq_ext
from seq2seq_ext.onnx import OnnxSeq2Seq, export_seq2seq

seq2seq_ext.FusedLSTM(4, 8)(torch.randn(3, 2, 4))  # the library works
for attempt in (
    lambda: export_seq2seq(seq2seq_ext.Seq2Seq(src_vocab_size=9, tgt_vocab_size=9), sys.argv[1]),
    lambda: OnnxSeq2Seq(sys.argv[2]),
):
    try:
        attempt()
    except ImportError as error:
        print(error)
from seq2seq_ext.nmt import cli
cli.main(["export", "--checkpoint", sys.argv[3], "--out", sys.argv[1]])
"""


def test_without_the_onnx_extra_the_library_works_and_export_says_what_to_install(
    trained, tmp_path
):
    out = trained[0]
    completed = subprocess.run(
        [sys.executable, "-c", WITHOUT_ONNX_PACKAGES]
        + [str(tmp_path / "export"), str(out / "onnx"), str(out / "best.pt")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert completed.returncode == 1  # the command line's exit on bad input
    hint = 'pip install "seq2seq_ext[onnx]"'
    lines = completed.stdout.splitlines()
    assert len(lines) == 2 and all(hint in line for line in lines), completed.stdout
    assert lines[0].startswith("ONNX export needs the onnx extra")
    assert lines[1].startswith("OnnxSeq2Seq needs onnxruntime")
    assert (
        completed.stderr.strip()
        .splitlines()[-1]
        .startswith("error: ONNX export needs the onnx extra (" + hint)
    )
    assert not (tmp_path / "export").exists()  # nothing written


def test_exporting_a_for_inference_copy_names_what_to_export(tmp_path):
    model = Seq2Seq(Seq2SeqConfig(9, 9, embedding_size=8, hidden_size=8))
    with pytest.raises(UnsupportedExport, match="export the float32 model"):
        export_seq2seq(model.for_inference("int8"), tmp_path)


def test_the_onnx_extra_and_the_dev_requirements_list_the_packages_export_needs():
    import tomllib

    from seq2seq_ext.onnx.tracing import ONNX_EXTRA

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert sorted(project["optional-dependencies"]["onnx"]) == sorted(ONNX_EXTRA)
    requirements = (REPO / "requirements-dev.txt").read_text().splitlines()
    listed = {line.split("#")[0].split("=")[0].strip() for line in requirements}
    assert set(ONNX_EXTRA) <= listed
