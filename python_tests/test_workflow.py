"""The translation workflow of docs/training.md ("Train on your own parallel data"),
run as written on the shipped sample: a config file, sentencepiece subwords
stored in the checkpoint, sacreBLEU scores with their signature, TensorBoard
event files, file translation; and the config's precedence rules."""

import os
import re
import subprocess
import sys

import pytest
import sacrebleu
import torch
from conftest import REPO, result_of

from seq2seq_ext.nmt import cli
from seq2seq_ext.nmt.data import Tokenizer, task_splits
from seq2seq_ext.nmt.trainer import load_model
from seq2seq_ext.nmt.translator import Translation, Translator

# The walkthrough trains for 40 epochs at hidden size 256; the test, briefly,
# and with TensorBoard (an optional dependency, in requirements-dev.txt).
SHORT_TRAINING = " --epochs 3 --hidden 64 --no-progress --tensorboard"
WALKTHROUGH = "docs/training.md"  # the page whose walkthrough the tests run


def walkthrough_commands() -> list:
    block = re.search(
        r"<!-- walkthrough -->\s*```bash\n(.*?)\n```", (REPO / WALKTHROUGH).read_text(), re.S
    )
    assert block, f"{WALKTHROUGH} has no bash block after <!-- walkthrough -->"
    return block.group(1).splitlines()


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory):
    """Runs the walkthrough's commands in a fresh folder (the repository's
    configs/ and package linked in); returns the folder and each command's output."""
    folder = tmp_path_factory.mktemp("walkthrough")
    for name in ("configs", "seq2seq_ext"):
        (folder / name).symlink_to(REPO / name)
    environment = {
        **os.environ,
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]]),
        "PYTHONPATH": str(REPO),
        "SEQ2SEQ_EXT_REQUIRE_COMPILED": "1",
    }
    outputs = []
    for command in walkthrough_commands():
        if " train " in command:
            command += SHORT_TRAINING
        completed = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", command],
            cwd=folder,
            env=environment,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert completed.returncode == 0, (command, completed.stderr[-3000:])
        outputs.append(completed)
    return folder, outputs


def test_walkthrough_trains_with_the_config_and_writes_what_it_used(walkthrough):
    folder, outputs = walkthrough
    run = folder / "runs" / "own_data"
    assert {"best.pt", "last.pt", "config.yaml", "history.json", "result.json"} <= {
        p.name for p in run.iterdir()
    }
    arguments = cli.parse_arguments(["train", "--config", str(run / "config.yaml")])
    assert (arguments.epochs, arguments.hidden) == (3, 64)  # the command line's
    assert (arguments.tokenizer, arguments.patience) == ("sentencepiece", 5)  # the file's
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))
    trained = result_of(outputs[1].stdout)
    assert trained["bleu_signature"].startswith("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp")
    assert trained["early_stopping_metric"] == "bleu"


def test_tensorboard_holds_the_scalars_and_the_attention_map(walkthrough):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    folder, _ = walkthrough
    events = EventAccumulator(str(folder / "runs" / "own_data" / "tensorboard")).Reload()
    tags = events.Tags()
    assert {"train_loss", "valid_loss", "lr", "tokens_per_s", "valid_bleu"} <= set(tags["scalars"])
    assert [e.step for e in events.Scalars("valid_bleu")] == [0, 1, 2]
    assert tags["images"] == ["validation_attention"]


def test_evaluate_reports_sacrebleu_of_its_translations(walkthrough):
    """evaluate's BLEU and chrF are sacreBLEU's on the same hypotheses, computed
    here from the checkpoint's own translations of the test split."""
    folder, outputs = walkthrough
    evaluated = result_of(outputs[2].stdout)
    checkpoint = folder / "runs" / "own_data" / "best.pt"
    translator = Translator.from_checkpoint(checkpoint, beam_size=4, max_len=60)
    data = load_model(checkpoint)[1]["data"]
    data = dict(data, data=str(folder / data["data"]))  # relative to the walkthrough's folder
    test_pairs = task_splits(data, translator.tokenizer)[2]
    hypotheses = [
        translator.detokenize(t.tokens)
        for t in translator.translate_tokens([s for s, _ in test_pairs])
    ]
    references = [translator.detokenize(r) for _, r in test_pairs]
    bleu = sacrebleu.BLEU()
    assert evaluated["examples"] == len(test_pairs)
    assert evaluated["bleu"] == bleu.corpus_score(hypotheses, [references]).score
    assert evaluated["bleu_signature"] == str(bleu.get_signature())
    assert evaluated["chrf"] == sacrebleu.corpus_chrf(hypotheses, [references]).score


def test_file_translation_keeps_lines_and_order(walkthrough):
    folder, outputs = walkthrough
    sources = (folder / "sentences.txt").read_text(encoding="utf-8").splitlines()
    translations = (folder / "translations.txt").read_text(encoding="utf-8").splitlines()
    assert len(translations) == len(sources) == 100
    translator = Translator.from_checkpoint(
        folder / "runs" / "own_data" / "best.pt", beam_size=4, max_len=60
    )
    assert translator.translate_texts(sources) == translations
    assert "100/100" in outputs[4].stderr  # the progress bar


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
    copy.write_bytes((folder / "runs" / "own_data" / "best.pt").read_bytes())
    translator = Translator.from_checkpoint(copy)
    assert translator.tokenizer.kind == "sentencepiece"
    pieces = translator.tokenizer.tokenize("newspapers", "source")
    assert len(pieces) > 1 and all(p in translator.src_vocab for p in pieces), pieces
    assert translator.translate("I see the cat.")
    assert translator.translate("") == ""
