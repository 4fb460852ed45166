"""A text task's files: pairs from a TSV file or two parallel text files,
the train / valid / test splits given as files or cut from the training
pairs (and the record of which), the data section's checks, and subword
models read from files, used as they are."""

import pytest

from seq2seq_ext.errors import InputError
from seq2seq_ext.nmt import DataConfig
from seq2seq_ext.nmt.data import (
    describe_splits,
    fit_tokenizer,
    read_pairs,
    read_parallel_pairs,
    read_test_split,
    reference_texts,
    task_text_splits,
    train_valid_test_split,
)
from seq2seq_ext.nmt.data.subwords import SubwordModel

PAIRS = [(f"source {i}", f"cible {i}") for i in range(40)]


def write_lines(path, lines):
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return str(path)


def write_tsv(path, pairs):
    return write_lines(path, [f"{s}\t{t}" for s, t in pairs])


def write_parallel(folder, name, pairs):
    source = write_lines(folder / f"{name}.src", [s for s, _ in pairs])
    target = write_lines(folder / f"{name}.tgt", [t for _, t in pairs])
    return f"{source},{target}"


def test_parallel_files_and_tsv_give_the_same_pairs(tmp_path):
    pairs = [("Go.", "Va !"), (" Hi. ", "Salut."), ("", ""), ("I see.", "Je vois.")]
    parallel = write_parallel(tmp_path, "a", pairs)
    expected = [("Go.", "Va !"), ("Hi.", "Salut."), ("I see.", "Je vois.")]  # both blank: skipped
    assert read_pairs(parallel) == expected
    assert read_pairs(write_tsv(tmp_path / "a.tsv", expected)) == expected
    assert read_pairs(parallel, max_pairs=2) == expected[:2]
    named_with_a_comma = write_tsv(tmp_path / "x,y.tsv", expected)  # an existing file: one name
    assert read_pairs(named_with_a_comma) == expected


@pytest.mark.parametrize(
    "sources, targets, message",
    [
        (["a", "b", "c"], ["A", "B"], r"a.src has 3 lines but .*a.tgt has 2: parallel files need"),
        (["a", "", "c"], ["A", "B", "C"], r"a.src, line 2: empty, but not in .*a.tgt"),
        (["a", "b"], ["A", " "], r"a.tgt, line 2: empty, but not in .*a.src"),
        ([""], [""], "no sentence pair found"),
    ],
)
def test_parallel_files_that_do_not_pair_up_name_both(tmp_path, sources, targets, message):
    source = write_lines(tmp_path / "a.src", sources)
    target = write_lines(tmp_path / "a.tgt", targets)
    with pytest.raises(InputError, match=message):
        read_parallel_pairs(source, target)


def test_names_that_are_not_one_file_or_two(tmp_path):
    with pytest.raises(InputError, match="expected a TSV file or two parallel text files"):
        read_pairs(f"{tmp_path}/a,{tmp_path}/b,{tmp_path}/c")
    with pytest.raises(InputError, match=r"missing.en: cannot read the file"):
        read_pairs(f"{tmp_path}/missing.en,{tmp_path}/missing.fr")


def options(tmp_path, **files):
    return DataConfig(task="tsv", train_data=write_tsv(tmp_path / "train.tsv", PAIRS), **files)


@pytest.mark.parametrize("given", ["", "valid", "test", "valid+test"])
def test_given_splits_are_read_and_the_others_cut_from_the_training_pairs(tmp_path, given):
    """A split not given is 10% of the training pairs, cut as train_valid_test_split
    cuts them (with none given: today's 80/10/10); given ones are read whole."""
    valid = [(f"v{i}", f"V{i}") for i in range(7)]
    test = [(f"t{i}", f"T{i}") for i in range(3)]
    files = {}
    if "valid" in given:
        files["valid_data"] = write_parallel(tmp_path, "valid", valid)
    if "test" in given:
        files["test_data"] = write_tsv(tmp_path / "test.tsv", test)
    task = options(tmp_path, **files).task_options(seed=3)
    splits = task_text_splits(task)
    fractions = (0.8 + 0.1 * ("valid" in given) + 0.1 * ("test" in given),)
    fractions += (0.0 if "valid" in given else 0.1, 0.0 if "test" in given else 0.1)
    cut = train_valid_test_split(PAIRS, fractions, seed=3)
    if given == "valid+test":
        cut[0] = PAIRS  # nothing cut: in the file's order
    assert splits[0] == cut[0]
    assert splits[1] == (valid if "valid" in given else cut[1])
    assert splits[2] == (test if "test" in given else cut[2])
    assert read_test_split(task) == splits[2]
    assert reference_texts(task, splits[2]) == [t for _, t in splits[2]]
    lines = describe_splits(task, [len(split) for split in splits])
    train_file = f"train-data {task['train_data']}"
    assert lines[1] == (
        f"valid: 7 pairs from valid-data {files['valid_data']}"
        if "valid" in given
        else f"valid: 4 pairs from 10% of {train_file}, shuffled with seed 3"
    )
    assert lines[0].startswith(f"train: {len(splits[0])} pairs from ")
    assert lines[0].endswith(train_file) == (given == "valid+test")


def test_the_test_file_is_read_alone(tmp_path):
    """evaluate reads the given test file without the training file."""
    task = options(tmp_path, test_data=write_tsv(tmp_path / "test.tsv", PAIRS[:2]))
    task = task.task_options(0)
    task["train_data"] = str(tmp_path / "gone.tsv")
    assert read_test_split(task) == PAIRS[:2]
    with pytest.raises(InputError, match="gone.tsv: cannot read the file"):
        task_text_splits(task)


@pytest.mark.parametrize(
    "fields, message",
    [
        (dict(task="reverse_words", test_data="t.tsv"), "test-data: files of text are read by"),
        (dict(task="tsv", train_data="a", data="b"), "give train-data or data .*, not both"),
        (dict(task="tsv", subword_model="m", tokenizer="word"), "use --tokenizer sentencepiece"),
        (
            dict(task="tsv", subword_model="m", source_subword_model="s"),
            "subword-model is one model for both sides",
        ),
        (
            dict(task="tsv", source_subword_model="s", joint_vocab=True),
            "joint-vocab learns one model for both sides",
        ),
    ],
)
def test_the_data_section_checks_its_files_fit_together(fields, message):
    with pytest.raises(InputError, match=message):
        DataConfig(**fields)


def test_a_subword_model_file_implies_sentencepiece():
    assert DataConfig(task="tsv", target_subword_model="m").tokenizer_kind == "sentencepiece"
    assert DataConfig(task="tsv").tokenizer_kind == "word"


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    sentences = [text for pair in PAIRS for text in pair] + ["Je vois le chat."] * 3
    path = tmp_path_factory.mktemp("spm") / "spm.model"
    path.write_bytes(SubwordModel.train(sentences, 40, "bpe").to_bytes())
    return path


def test_given_subword_models_are_used_as_they_are(tmp_path, model_file):
    """subword-model for both sides; one side's model, the other learnt."""
    given = model_file.read_bytes()
    task = DataConfig(task="tsv", subword_model=str(model_file)).task_options(0)
    tokenizer = fit_tokenizer(task, PAIRS)
    models = tokenizer.subword_models
    assert models["source"] is models["target"] and models["source"].to_bytes() == given
    assert tokenizer.to_state()["subword_models"]["target"] == given  # stored in checkpoints
    task = DataConfig(
        task="tsv", target_subword_model=str(model_file), subword_vocab_size=20
    ).task_options(0)
    models = fit_tokenizer(task, PAIRS).subword_models
    assert models["target"].to_bytes() == given
    assert models["source"].to_bytes() != given and len(models["source"]) == 20


def test_a_file_that_is_not_a_sentencepiece_model_is_one_line(tmp_path):
    not_a_model = tmp_path / "pairs.tsv"
    not_a_model.write_text("Go.\tVa !\n")
    task = DataConfig(task="tsv", subword_model=str(not_a_model)).task_options(0)
    with pytest.raises(InputError) as error:
        fit_tokenizer(task, PAIRS)
    assert str(error.value) == (
        f"{not_a_model}: not a sentencepiece model (sentencepiece cannot read its 9 bytes);"
        " give a .model file that sentencepiece wrote"
    )
    with pytest.raises(InputError, match="missing.model: cannot read the file"):
        SubwordModel.load(tmp_path / "missing.model")
