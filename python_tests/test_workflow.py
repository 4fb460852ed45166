"""The translation workflow of docs/training.md ("Train on your own parallel data"),
run as written on the shipped sample cut into three files (train TSV, valid
parallel text files, test TSV), then with a sentencepiece model of the
user's: a config file, the splits the run says it used, subword models stored
in the checkpoint, sacreBLEU scores against the raw references with their
signature, TensorBoard event files, file translation; bad files as one-line
errors that write nothing; and the config's precedence rules."""

import json
import os
import re
import subprocess
import sys
import unicodedata

import pytest
import sacrebleu
import torch
from conftest import REPO, result_of

from seq2seq_ext.nmt import RunConfig, cli, evaluate, load_config
from seq2seq_ext.nmt.data import Tokenizer, read_pairs
from seq2seq_ext.nmt.translator import Translation, Translator

# The walkthrough trains for 40 epochs at hidden size 256; the test, briefly,
# and with TensorBoard (an optional dependency, in requirements-dev.txt); the
# run with the user's subword model, one epoch.
SHORT_TRAINING = " --epochs 3 --hidden 64 --no-progress --tensorboard"
ONE_EPOCH = " --epochs 1 --hidden 32 --no-progress"
WALKTHROUGH = "docs/training.md"  # the page whose walkthrough the tests run
RUN, SPM_RUN = "runs/own_data", "runs/own_spm"  # the walkthrough's two runs


def walkthrough_commands() -> list:
    block = re.search(
        r"<!-- walkthrough -->\s*```bash\n(.*?)\n```", (REPO / WALKTHROUGH).read_text(), re.S
    )
    assert block, f"{WALKTHROUGH} has no bash block after <!-- walkthrough -->"
    return block.group(1).splitlines()


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory):
    """Runs the walkthrough's commands in a fresh folder (the repository's
    configs/ and package linked in); returns the folder and {command: its
    output}."""
    folder = tmp_path_factory.mktemp("walkthrough")
    for name in ("configs", "seq2seq_ext"):
        (folder / name).symlink_to(REPO / name)
    environment = {
        **os.environ,
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]]),
        "PYTHONPATH": str(REPO),
        "SEQ2SEQ_EXT_REQUIRE_COMPILED": "1",
    }
    outputs = {}
    for command in walkthrough_commands():
        if " train " in command:
            command += ONE_EPOCH if "--subword-model" in command else SHORT_TRAINING
        completed = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", command],
            cwd=folder,
            env=environment,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert completed.returncode == 0, (command, completed.stderr[-3000:])
        outputs[command] = completed
    return folder, outputs


def output_of(outputs: dict, *words):
    """The output of the walkthrough's command that has all these words."""
    (found,) = [out for command, out in outputs.items() if all(w in command for w in words)]
    return found


def test_walkthrough_trains_from_three_files_and_says_so(walkthrough):
    folder, outputs = walkthrough
    run = folder / RUN
    assert {"best.pt", "last.pt", "config.yaml", "history.json", "result.json"} <= {
        p.name for p in run.iterdir()
    }
    written = (run / "config.yaml").read_text().splitlines()
    assert written[:4] == [
        "# The splits this run used:",
        "# train: 400 pairs from train-data train.tsv",
        "# valid: 50 pairs from valid-data valid.en,valid.fr",
        "# test: 50 pairs from test-data test.tsv",
    ]
    arguments = cli.parse_arguments(["train", "--config", str(run / "config.yaml")])
    assert (arguments.epochs, arguments.hidden) == (3, 64)  # the command line's
    assert (arguments.tokenizer, arguments.patience) == ("sentencepiece", 5)  # the file's
    data = load_config(run / "config.yaml").data
    assert (data.train_data, data.valid_data, data.test_data) == (
        "train.tsv", "valid.en,valid.fr", "test.tsv"
    )  # fmt: skip
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))
    trained = result_of(output_of(outputs, " train ", "--valid-data").stdout)
    assert trained["splits"] == [line[2:] for line in written[1:4]]
    assert trained["test_examples"] == 50
    assert trained["bleu_signature"].startswith("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp")
    assert trained["early_stopping_metric"] == "bleu"


def test_tensorboard_holds_the_scalars_and_the_attention_map(walkthrough):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    folder, _ = walkthrough
    events = EventAccumulator(str(folder / RUN / "tensorboard")).Reload()
    tags = events.Tags()
    assert {"train_loss", "valid_loss", "lr", "tokens_per_s", "valid_bleu"} <= set(tags["scalars"])
    assert [e.step for e in events.Scalars("valid_bleu")] == [0, 1, 2]
    assert tags["images"] == ["validation_attention"]


def sacrebleu_scores(translator, sources, references):
    """sacreBLEU's BLEU and chrF of the translator's translations of the
    source texts against the reference texts, as given."""
    tokens = [translator.tokenizer.tokenize(text, "source") for text in sources]
    hypotheses = [translator.detokenize(t.tokens) for t in translator.translate_tokens(tokens)]
    bleu = sacrebleu.BLEU()
    return {
        "bleu": bleu.corpus_score(hypotheses, [references]).score,
        "chrf": sacrebleu.corpus_chrf(hypotheses, [references]).score,
        "bleu_signature": str(bleu.get_signature()),
    }


def test_scores_are_sacrebleus_against_the_test_files_sentences(walkthrough):
    """evaluate's and train's test scores, and each epoch's validation scores,
    are sacreBLEU's of the translations against the references as the files
    hold them."""
    folder, outputs = walkthrough
    sources, references = zip(*read_pairs(folder / "test.tsv"))
    translator = Translator.from_checkpoint(folder / RUN / "best.pt", beam_size=4, max_len=60)
    evaluated = result_of(output_of(outputs, "evaluate", RUN).stdout)
    assert evaluated["examples"] == 50
    expected = sacrebleu_scores(translator, sources, list(references))
    assert {key: evaluated[key] for key in expected} == expected
    greedy = Translator.from_checkpoint(folder / RUN / "last.pt", max_len=60)
    valid_sources = (folder / "valid.en").read_text().splitlines()
    valid_references = (folder / "valid.fr").read_text().splitlines()
    last_epoch = json.loads((folder / RUN / "history.json").read_text())[-1]
    validation = sacrebleu_scores(greedy, valid_sources, valid_references)
    assert (last_epoch["valid_bleu"], last_epoch["valid_chrf"]) == (
        validation["bleu"], validation["chrf"]
    )  # fmt: skip


def test_file_translation_keeps_lines_and_order(walkthrough):
    folder, outputs = walkthrough
    sources = (folder / "sentences.txt").read_text(encoding="utf-8").splitlines()
    translations = (folder / "translations.txt").read_text(encoding="utf-8").splitlines()
    assert len(translations) == len(sources) == 50
    translator = Translator.from_checkpoint(folder / RUN / "best.pt", beam_size=4, max_len=60)
    assert translator.translate_texts(sources) == translations
    assert "50/50" in output_of(outputs, "translate").stderr  # the progress bar


def test_a_given_sentencepiece_model_is_used_as_it_is(walkthrough):
    """The user's model tokenizes both sides and travels in the checkpoint; the
    validation split, not given, is cut from the training pairs (10%)."""
    folder, outputs = walkthrough
    translator = Translator.from_checkpoint(folder / SPM_RUN / "best.pt")
    given = (folder / "spm.model").read_bytes()
    models = translator.tokenizer.subword_models
    assert models["source"].to_bytes() == models["target"].to_bytes() == given
    assert len(models["source"]) == 100
    header = (folder / SPM_RUN / "config.yaml").read_text().splitlines()[1:4]
    assert header == [
        "# train: 360 pairs from 90% of train-data train.tsv, shuffled with seed 0",
        "# valid: 40 pairs from 10% of train-data train.tsv, shuffled with seed 0",
        "# test: 50 pairs from test-data test.tsv",
    ]
    evaluated = result_of(output_of(outputs, "evaluate", SPM_RUN).stdout)
    assert evaluated["examples"] == 50  # valid.en,valid.fr's pairs


def test_the_references_are_not_normalized(walkthrough, tmp_path, monkeypatch):
    """References that sentencepiece's NFKC changes (a ligature, full-width
    digits, a no-break space): a translator that outputs each reference's own
    pieces gets every token right (exact match 1), and its detokenized output is
    the normalized reference, so BLEU and chrF against the references as the
    file holds them are below 100, and are sacreBLEU's of exactly those."""
    folder, _ = walkthrough
    pairs = [
        ("I see the cat.", "Je vois le chat ﬁn."),
        ("We have two cats.", "Nous avons ２ chats\u00a0!"),
        ("He is here.", "Il est ici, ﬁnalement."),
    ]
    (tmp_path / "nfkc.tsv").write_text("".join(f"{s}\t{t}\n" for s, t in pairs), "utf-8")
    checkpoint = folder / SPM_RUN / "best.pt"
    tokenizer = Translator.from_checkpoint(checkpoint).tokenizer
    oracle = {
        tuple(tokenizer.tokenize(s, "source")): tokenizer.tokenize(t, "target") for s, t in pairs
    }
    monkeypatch.setattr(
        Translator,
        "translate_tokens",
        lambda self, sources: [Translation(oracle[tuple(s)], 0.0, None) for s in sources],
    )
    evaluated = evaluate(RunConfig(device="cpu"), checkpoint, data=tmp_path / "nfkc.tsv")
    hypotheses = [tokenizer.detokenize(oracle[tuple(tokenizer.tokenize(s, "source"))], "target")
                  for s, _ in pairs]  # fmt: skip
    raw = [t for _, t in pairs]
    assert hypotheses == [" ".join(unicodedata.normalize("NFKC", t).split()) for t in raw]
    assert evaluated["exact_match"] == 1.0
    assert evaluated["bleu"] == sacrebleu.corpus_bleu(hypotheses, [raw]).score < 100
    assert evaluated["chrf"] == sacrebleu.corpus_chrf(hypotheses, [raw]).score < 100
    assert sacrebleu.corpus_chrf(hypotheses, [hypotheses]).score == 100


BAD_FILES = [
    (["--valid-data", "valid.en,short.fr"], "valid.en has 50 lines but short.fr has 49"),
    (["--subword-model", "train.tsv"], "train.tsv: not a sentencepiece model"),
    (["--test-data", "missing.tsv"], "missing.tsv: cannot read the file"),
    (["--train-data", "valid.en"], "valid.en, line 1: no tab; expected source<TAB>target"),
]


@pytest.mark.parametrize("options, message", BAD_FILES, ids=lambda v: str(v)[:20])
def test_bad_files_give_one_line_errors_and_write_nothing(
    walkthrough, monkeypatch, capsys, options, message
):
    folder, _ = walkthrough
    monkeypatch.chdir(folder)
    (folder / "short.fr").write_text(
        "".join((folder / "valid.fr").read_text().splitlines(True)[:49])
    )
    argv = ["train", "--config", "my_data.yaml", "--train-data", "train.tsv", *options]
    with pytest.raises(SystemExit) as exit:
        cli.main([*argv, "--out", "runs/bad", "--device", "cpu"])
    assert exit.value.code == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {message}"), lines
    assert not (folder / "runs" / "bad").exists()
    if options[0] in ("--valid-data", "--test-data"):  # evaluate reads them as train does
        checkpoint = str(folder / RUN / "best.pt")
        with pytest.raises(SystemExit):
            cli.main(["evaluate", "--checkpoint", checkpoint, "--test-data", options[1]])
        assert capsys.readouterr().err.splitlines()[0].startswith(f"error: {message}")


class EchoTranslator(Translator):
    """Translates a sentence into its own tokens reversed: where each output
    line comes from shows."""

    def __init__(self, batch_size):
        super().__init__(
            torch.nn.Linear(1, 1), None, None, Tokenizer("word"), batch_size=batch_size
        )
        self.batches = []

    def translate_tokens(self, sources):
        self.batches.append([len(s) for s in sources])
        return [Translation(list(reversed(s)), 0.0, None) for s in sources]


def test_translate_texts_batches_by_length_and_keeps_the_order():
    texts = ["a b c", "", "d", "e f g h i", "   ", "j k", "l m n o", "p"]
    translator = EchoTranslator(batch_size=3)
    assert translator.translate_texts(texts) == [
        "c b a",
        "",
        "d",
        "i h g f e",
        "",
        "k j",
        "o n m l",
        "p",
    ]
    assert translator.batches == [[1, 1, 2], [3, 4, 5]]  # shortest first, no empty ones


def test_the_checkpoint_alone_translates_with_subwords(walkthrough, tmp_path):
    """The subword models travel in the checkpoint: a copy far from the config
    and the data translates, and an unseen word is spelled in known pieces."""
    folder, _ = walkthrough
    copy = tmp_path / "model.pt"
    copy.write_bytes((folder / RUN / "best.pt").read_bytes())
    translator = Translator.from_checkpoint(copy)
    assert translator.tokenizer.kind == "sentencepiece"
    pieces = translator.tokenizer.tokenize("newspapers", "source")
    assert len(pieces) > 1 and all(p in translator.src_vocab for p in pieces), pieces
    assert translator.translate("I see the cat.")
    assert translator.translate("") == ""
