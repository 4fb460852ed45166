"""seq2seq_ext.nmt.data.subwords: sentencepiece models trained in memory on the
English-French sample: round trips, reproducible bytes, quiet training, and
one-line errors for sizes the text cannot give."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sentencepiece

import seq2seq_ext
from seq2seq_ext.errors import InputError
from seq2seq_ext.nmt.data import ENG_FRA_SAMPLE, Tokenizer, read_tsv_pairs
from seq2seq_ext.nmt.data.subwords import SUBWORD_TYPES, SubwordModel

# Fits both types on the joint sample (unigram allows at most 155 pieces there).
VOCAB_SIZE = 120


@pytest.fixture(scope="module")
def sentences():
    """The sample's English and French sentences (joint text)."""
    return [sentence for pair in read_tsv_pairs(ENG_FRA_SAMPLE) for sentence in pair]


@pytest.fixture(scope="module", params=SUBWORD_TYPES)
def model(request, sentences):
    return SubwordModel.train(sentences, VOCAB_SIZE, request.param)


def test_round_trip(model, sentences):
    # The sample is already in nmt_nfkc normal form: single spaces, no compatibility characters.
    assert len(model) == VOCAB_SIZE
    for sentence in sentences:
        pieces = model.encode(sentence)
        assert pieces[0].startswith("▁")
        assert model.decode(pieces) == sentence


def test_text_is_normalized_not_lowercased(model):
    assert model.decode(model.encode("  They   read\tthe letter. ")) == "They read the letter."


def test_no_bos_eos_pieces_and_unk_is_the_vocab_unk(model):
    processor = sentencepiece.SentencePieceProcessor(model_proto=model.to_bytes())
    assert (processor.bos_id(), processor.eos_id()) == (-1, -1)
    assert processor.id_to_piece(processor.unk_id()) == "<unk>"


def test_unseen_word_is_split_into_known_pieces(model, sentences):
    word = "newspapers"
    assert word not in " ".join(sentences).split()
    pieces = model.encode(word)
    processor = sentencepiece.SentencePieceProcessor(model_proto=model.to_bytes())
    assert len(pieces) > 1
    assert not any(processor.is_unknown(processor.piece_to_id(piece)) for piece in pieces)
    assert model.decode(pieces) == word


def test_unknown_pieces_decode(model):
    pieces = model.encode("They") + ["<unk>"] + model.encode("read")
    assert model.decode(pieces) == "They ⁇  read"
    assert model.decode([]) == ""


def test_bytes_round_trip(model, sentences):
    loaded = SubwordModel(model.to_bytes())
    assert loaded.to_bytes() == model.to_bytes()
    assert len(loaded) == len(model)
    assert [loaded.encode(s) for s in sentences] == [model.encode(s) for s in sentences]


# Loads subwords.py under bare parent packages: it needs seq2seq_ext.errors only, and
# skipping the package's __init__ (torch) keeps the fresh process fast.
_TRAIN_IN_FRESH_PROCESS = """
import json, sys, types
package_dir, sentences, vocab_size, subword_type = json.load(sys.stdin)
for name, path in (
    ("seq2seq_ext", package_dir),
    ("seq2seq_ext.nmt", package_dir + "/nmt"),
    ("seq2seq_ext.nmt.data", package_dir + "/nmt/data"),
):
    sys.modules[name] = types.ModuleType(name)
    sys.modules[name].__path__ = [path]
from seq2seq_ext.nmt.data.subwords import SubwordModel
sys.stdout.buffer.write(SubwordModel.train(sentences, vocab_size, subword_type).to_bytes())
"""


@pytest.mark.parametrize("subword_type", SUBWORD_TYPES)
def test_training_is_reproducible(sentences, subword_type):
    # sentencepiece's random choices differ between processes, not between two
    # trainings in one process: a fresh process is what shows them.
    model_bytes = SubwordModel.train(sentences, VOCAB_SIZE, subword_type).to_bytes()
    assert SubwordModel.train(sentences, VOCAB_SIZE, subword_type).to_bytes() == model_bytes
    package_dir = str(Path(seq2seq_ext.__file__).parent)
    fresh = subprocess.run(
        [sys.executable, "-c", _TRAIN_IN_FRESH_PROCESS],
        input=json.dumps([package_dir, sentences, VOCAB_SIZE, subword_type]).encode(),
        capture_output=True,
        check=True,
        timeout=60,
    )
    assert fresh.stdout == model_bytes


def test_training_is_quiet(sentences, capfd):
    SubwordModel.train(sentences, VOCAB_SIZE)
    with pytest.raises(InputError):
        SubwordModel.train(sentences, 100_000)
    assert capfd.readouterr() == ("", "")


@pytest.mark.parametrize("subword_type", SUBWORD_TYPES)
@pytest.mark.parametrize("asked, side, step", [(100_000, "or less", 1), (10, "or more", -1)])
def test_a_size_the_text_cannot_give_names_the_limit(sentences, subword_type, asked, side, step):
    """Too large or too small: one line naming the text, the size asked for and
    the limit, which trains, while one step beyond it fails."""
    with pytest.raises(InputError) as raised:
        SubwordModel.train(sentences, asked, subword_type, what="the joint text")
    message = str(raised.value)
    assert "\n" not in message
    assert "the joint text" in message and f" {asked} " in message
    limit = int(re.search(rf"--subword-vocab-size (\d+) {side}", message).group(1))
    assert len(SubwordModel.train(sentences, limit, subword_type)) == limit
    with pytest.raises(InputError, match=f" {limit} pieces"):
        SubwordModel.train(sentences, limit + step, subword_type)
    if side == "or more":  # one piece per distinct character (the space as "▁"), and <unk>
        assert limit == len(set("".join(sentences))) + 1


@pytest.mark.parametrize("sentences", [[], ["", "  "]])
def test_no_text(sentences):
    with pytest.raises(InputError, match="the target text: no text"):
        SubwordModel.train(sentences, VOCAB_SIZE, what="the target text")


def test_unknown_subword_type(sentences):
    with pytest.raises(ValueError, match="subword type must be one of"):
        SubwordModel.train(sentences, VOCAB_SIZE, "word")


@pytest.mark.parametrize("model_bytes", [b"", b"not a model", bytes(16)])
def test_bytes_that_are_not_a_model(model_bytes):
    with pytest.raises(ValueError, match="not a sentencepiece model"):
        SubwordModel(model_bytes)


# ---------------------------------------------------------------- Tokenizer


def test_tokenizer_trains_one_model_per_side_or_one_joint_model():
    pairs = read_tsv_pairs(ENG_FRA_SAMPLE)[:400]
    separate = Tokenizer.fit("sentencepiece", pairs, 60, "bpe")
    joint = Tokenizer.fit("sentencepiece", pairs, 120, "bpe", joint=True)
    assert separate.subword_models["source"] is not separate.subword_models["target"]
    assert joint.subword_models["source"] is joint.subword_models["target"]
    assert len(joint.subword_models["source"]) == 120
    french = pairs[0][1]
    for tokenizer in (separate, joint):
        assert not tokenizer.lowercase  # subwords keep the case
        pieces = tokenizer.tokenize(french, "target")
        assert tokenizer.detokenize(pieces, "target") == french
        again = Tokenizer.from_state(tokenizer.to_state())
        assert again.tokenize(french, "target") == pieces


def test_word_and_char_tokenizers_and_older_checkpoints():
    assert Tokenizer("word").tokenize("I see it.", "source") == ["i", "see", "it", "."]
    assert Tokenizer("char").detokenize(["a", " ", "b"], "target") == "a b"
    assert Tokenizer.from_state("char").kind == "char"  # what checkpoints stored before
    assert Tokenizer.from_state(Tokenizer("word").to_state()).tokenize("A b", "target") == [
        "a",
        "b",
    ]
    with pytest.raises(ValueError, match="tokenizer must be one of"):
        Tokenizer("bytes")
    with pytest.raises(ValueError, match="only then"):
        Tokenizer("sentencepiece")
