"""Training: masked loss, exact resume, checkpoints that fail cleanly, AMP,
DistributedDataParallel over gloo, the command line and the Python API of a
RunConfig, and checkpoints of earlier versions."""

import json
from dataclasses import replace

import pytest
import torch
from conftest import REPO, result_of, run_python

from seq2seq_ext.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from seq2seq_ext.errors import InputError
from seq2seq_ext.models import Seq2Seq, Seq2SeqConfig
from seq2seq_ext.nmt import (
    DataConfig,
    RunConfig,
    cli,
    evaluate,
    load_config,
    model_config,
    translate,
)
from seq2seq_ext.nmt.data import (
    Vocab,
    make_loader,
    reverse_words_pairs,
    task_splits,
    train_valid_test_split,
)
from seq2seq_ext.nmt.options import run_config
from seq2seq_ext.nmt.trainer import (
    AMP_DTYPES,
    TrainConfig,
    Trainer,
    load_model,
    masked_cross_entropy,
)
from seq2seq_ext.nmt.translator import Translator

LOSS_FIELDS = ("epoch", "train_loss", "valid_loss", "valid_token_accuracy", "teacher_forcing")


def test_masked_cross_entropy_ignores_padding():
    logits = torch.randn(2, 3, 5, dtype=torch.float64)
    targets = torch.tensor([[4, 2, 0], [3, 0, 0]])
    loss, count = masked_cross_entropy(logits, targets, pad_index=0)
    real = targets != 0
    expected = torch.nn.functional.cross_entropy(logits[real], targets[real], reduction="sum")
    assert count == 3
    torch.testing.assert_close(loss, expected)


def small_task(seed=0):
    pairs = reverse_words_pairs(240, 2, 5, words=12, seed=seed)
    train_pairs, valid_pairs, _ = train_valid_test_split(pairs, seed=seed)
    src_vocab = Vocab.build(s for s, _ in train_pairs)
    tgt_vocab = Vocab.build(t for _, t in train_pairs)
    options = dict(src_vocab=src_vocab, tgt_vocab=tgt_vocab, batch_size=16, seed=seed)
    return (
        make_loader(train_pairs, shuffle=True, **options),
        make_loader(valid_pairs, shuffle=False, **options),
        len(src_vocab),
        len(tgt_vocab),
    )


def make_trainer(
    out_dir, model_seed, epochs=3, stop_after_epoch=None, validator=None, training=(), **config
):
    train_loader, valid_loader, src_size, tgt_size = small_task()
    torch.manual_seed(model_seed)
    model = Seq2Seq(
        Seq2SeqConfig(
            src_size,
            tgt_size,
            embedding_size=8,
            hidden_size=12,
            num_layers=2,
            dropout=0.2,
            **config,
        )
    )
    defaults = dict(lr=1e-2, lr_schedule="constant", teacher_forcing=(1.0, 0.5), progress=False)
    train_config = TrainConfig(
        epochs=epochs, stop_after_epoch=stop_after_epoch, **{**defaults, **dict(training)}
    )
    return Trainer(model, train_loader, valid_loader, train_config, out_dir, validator=validator)


def test_resume_reproduces_the_uninterrupted_run(tmp_path):
    """Dropout and scheduled sampling draw random numbers, the sampler shuffles:
    a run stopped after epoch 0 and resumed gives the same losses and weights."""
    uninterrupted = make_trainer(tmp_path / "a", model_seed=0)
    uninterrupted.fit()
    make_trainer(tmp_path / "b", model_seed=0, stop_after_epoch=0).fit()
    assert len(json.loads((tmp_path / "b" / "history.json").read_text())) == 1
    resumed = make_trainer(tmp_path / "b", model_seed=123)  # weights come from last.pt
    resumed.fit()
    for first, second in zip(uninterrupted.history, resumed.history, strict=True):
        assert {k: first[k] for k in LOSS_FIELDS} == {k: second[k] for k in LOSS_FIELDS}
    for (name, a), b in zip(
        uninterrupted.model.state_dict().items(), resumed.model.state_dict().values()
    ):
        assert torch.equal(a, b), name
    assert (tmp_path / "b" / "learning_curves.png").stat().st_size > 0
    assert (tmp_path / "b" / "history.csv").read_text().startswith("epoch,train_loss")


def test_best_checkpoint_holds_the_best_validation_loss(tmp_path):
    trainer = make_trainer(tmp_path, model_seed=0)
    history = trainer.fit()
    best = min(history, key=lambda r: r["valid_loss"])
    model, _ = load_model(tmp_path / "best.pt")
    assert load_checkpoint(tmp_path / "best.pt")["epoch"] == best["epoch"]
    trainer.model.load_state_dict(model.state_dict())
    assert trainer.evaluate()["valid_loss"] == pytest.approx(best["valid_loss"], rel=1e-6)


class ScriptedBleu:
    """A validator whose BLEU follows a script, one value per epoch."""

    def __init__(self, scores):
        self.scores = list(scores)

    def __call__(self, model):
        return {"valid_bleu": self.scores.pop(0), "bleu_signature": "scripted"}


@pytest.mark.parametrize("resume_after", [None, 1])
def test_patience_stops_after_epochs_without_a_better_metric(tmp_path, resume_after):
    """BLEU 10, 30, 20, 25, then (never reached) 40: with patience 2, epochs 2 and
    3 are not better than epoch 1, so training stops there, and best.pt holds
    epoch 1. A run interrupted and resumed stops at the same epoch."""
    training = {"early_stopping_metric": "bleu", "patience": 2}
    scores = [10.0, 30.0, 20.0, 25.0, 40.0]
    if resume_after is not None:
        first = make_trainer(
            tmp_path, 0, epochs=5, stop_after_epoch=resume_after,
            validator=ScriptedBleu(scores), training=training,
        )  # fmt: skip
        first.fit()
        scores = scores[resume_after + 1 :]
    trainer = make_trainer(tmp_path, 0, epochs=5, validator=ScriptedBleu(scores), training=training)
    history = trainer.fit()
    assert [r["valid_bleu"] for r in history] == [10.0, 30.0, 20.0, 25.0]
    assert trainer.best_record()["epoch"] == 1
    assert load_checkpoint(tmp_path / "best.pt")["epoch"] == 1
    assert json.loads((tmp_path / "history.json").read_text())[-1]["bleu_signature"] == "scripted"


def test_metrics_other_than_the_loss_need_a_validator(tmp_path):
    with pytest.raises(ValueError, match="early stopping on exact_match needs a validator"):
        make_trainer(tmp_path, 0, training={"early_stopping_metric": "exact_match"})
    with pytest.raises(ValueError, match="early_stopping_metric must be one of"):
        TrainConfig(early_stopping_metric="chrf")


def test_bad_checkpoints_give_clear_errors_and_keep_the_old_file(tmp_path):
    good = tmp_path / "best.pt"
    save_checkpoint(good, {"model": {"w": torch.ones(3)}})
    before = good.read_bytes()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(before[: len(before) // 2])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(truncated)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(CheckpointError, match="not a seq2seq_ext checkpoint"):
        load_checkpoint(foreign)
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "missing.pt")

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):  # fails half-way through writing
        save_checkpoint(good, {"model": {"w": torch.zeros(3)}, "bad": Unpicklable()})
    assert good.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt", "foreign.pt", "truncated.pt"]


def test_resume_refuses_another_model(tmp_path):
    make_trainer(tmp_path, model_seed=0, epochs=1).fit()
    other = make_trainer(tmp_path, model_seed=0, epochs=2, cell="lstm")
    with pytest.raises(CheckpointError, match="another model configuration"):
        other.fit()
    with pytest.raises(CheckpointError, match="model only"):
        other.resume(tmp_path / "best.pt")


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_mixed_precision_training_runs_in_the_autocast_dtype(tmp_path, amp):
    """The forward runs in the AMP dtype (the output layer's logits are in it),
    and the validation loss comes out close to, but not equal to, float32's."""
    trainer = make_trainer(tmp_path, model_seed=0, epochs=1)
    trainer.config.amp = amp
    trainer.scaler = torch.amp.GradScaler("cpu", enabled=amp == "fp16")
    logits_dtypes = set()
    trainer.model.decoder.output.register_forward_hook(
        lambda module, inputs, output: logits_dtypes.add(output.dtype)
    )
    record = trainer.fit()[0]
    assert logits_dtypes == {AMP_DTYPES[amp]}
    assert torch.isfinite(torch.tensor([record["train_loss"], record["valid_loss"]])).all()
    loss_in_amp = trainer.evaluate()["valid_loss"]
    trainer.config.amp = None
    loss_in_float32 = trainer.evaluate()["valid_loss"]
    assert loss_in_amp != loss_in_float32
    assert loss_in_amp == pytest.approx(loss_in_float32, rel=2e-2)


TINY = [
    "--task",
    "reverse_words",
    "--examples",
    "300",
    "--min-len",
    "2",
    "--max-len",
    "4",
    "--words",
    "8",
    "--epochs",
    "2",
    "--embedding",
    "8",
    "--hidden",
    "16",
    "--batch-size",
    "16",
    "--no-progress",
    "--device",
    "cpu",
]


def test_distributed_data_parallel_on_gloo(tmp_path):
    """torchrun with 2 CPU processes: one process group, each process training
    on its own half of every epoch's batches, together on each batch once, and
    both ending with the same weights; rank 0 writes the files."""
    completed = run_python(
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        "29533",
        REPO / "python_tests" / "ddp_worker.py",
        "train",
        *TINY,
        "--out",
        tmp_path,
        OMP_NUM_THREADS="1",
    )
    assert result_of(completed.stdout)["epochs"] == 2
    assert len(json.loads((tmp_path / "history.json").read_text())) == 2
    ranks = [torch.load(tmp_path / f"rank{rank}.pt") for rank in (0, 1)]
    for name, weight in ranks[0]["weights"].items():
        assert torch.equal(weight, ranks[1]["weights"][name]), name
    train_pairs = task_splits(load_checkpoint(tmp_path / "best.pt")["extra"]["data"])[0]
    for epoch in range(2):
        batches = [[b for e, b in rank["batches"] if e == epoch] for rank in ranks]
        assert len(batches[0]) == len(batches[1]) > 0  # DDP steps in lockstep
        examples = [i for rank_batches in batches for b in rank_batches for i in b]
        assert sorted(set(examples)) == list(range(len(train_pairs))), epoch  # all seen
        # ... each once, but for the first batch, which the second process repeats
        # when the batches do not split evenly (as DistributedSampler pads).
        assert len(examples) - len(set(examples)) <= len(batches[0][0]), epoch


TRAINED = ["--epochs", "10", "--embedding", "16", "--hidden", "32", "--lr", "0.01"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model trained long enough to have learnt something (about 15 s)."""
    out = tmp_path_factory.mktemp("cli")
    result = cli.main(["train", *TINY, *TRAINED, "--out", str(out)])
    return out, result


def validation_loss(model, extra, out):
    """The loss per target token of `model` on the validation split of the task a
    checkpoint's extra state describes, as the trainer (writing nothing into
    `out`) computes it."""
    src_vocab, tgt_vocab = (Vocab.from_state(extra[name]) for name in ("src_vocab", "tgt_vocab"))
    valid_pairs = task_splits(extra["data"])[1]
    loader = make_loader(valid_pairs, src_vocab, tgt_vocab, batch_size=16, shuffle=False)
    return Trainer(model, loader, loader, TrainConfig(), out).evaluate()["valid_loss"]


def test_cli_train_evaluate_translate(trained, capsys):
    out, result = trained
    # `evaluate` scores the trained model: the test metrics train reported.
    evaluated = cli.main(["evaluate", "--checkpoint", str(out / "best.pt"), "--device", "cpu"])
    assert evaluated["examples"] == result["test_examples"] > 0
    for metric in ("exact_match", "bleu", "chrf"):
        assert evaluated[metric] == pytest.approx(result[metric]), metric
    # The checkpoint holds the best epoch's weights, and training helped: its
    # validation loss is well below that of the model it started from.
    model, extra = load_model(out / "best.pt")
    assert validation_loss(model, extra, out) == pytest.approx(result["valid_loss"], rel=1e-6)
    torch.manual_seed(0)  # train's --seed: the initial weights
    untrained = Seq2Seq(model.config).eval()
    assert result["valid_loss"] < 0.5 * validation_loss(untrained, extra, out)
    beam = cli.main(
        ["evaluate", "--checkpoint", str(out / "best.pt"), "--beam", "3", "--device", "cpu"]
    )
    assert beam["examples"] == evaluated["examples"]
    capsys.readouterr()
    cli.main(
        [
            "translate",
            "--checkpoint",
            str(out / "best.pt"),
            "--device",
            "cpu",
            "w1 w2 w3",
            "w4 unknownword w5",
        ]
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[-1].startswith("RESULT ")


def test_translator_handles_unknown_and_empty_input(trained):
    out, _ = trained
    translator = Translator.from_checkpoint(out / "best.pt")
    assert isinstance(translator.translate("never seen words"), str)
    assert translator.translate("   ") == ""
    with pytest.raises(ValueError, match="empty sentence"):
        translator.translate_tokens([[]])


def test_cli_sweep_writes_a_table_and_a_plot(tmp_path, capsys):
    result = cli.main(
        [
            "sweep",
            "--param",
            "lr",
            "--values",
            "0.001",
            "0.01",
            *TINY,
            "--epochs",
            "1",
            "--out",
            str(tmp_path),
        ]
    )
    assert [row["lr"] for row in result["runs"]] == ["0.001", "0.01"]
    assert (tmp_path / "sweep.md").read_text().count("\n") == 4
    assert (tmp_path / "sweep.png").stat().st_size > 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit:
        cli.main(["sweep", "--param", "nonsense", "--values", "1", *TINY])
    assert exit.value.code == 1
    assert capsys.readouterr().err == "error: sweep: --param nonsense is not a train option\n"


def test_train_writes_the_run_config_it_used(trained):
    """config.yaml in the run folder is the sectioned run config, and reads back
    to the RunConfig that the command line made."""
    out, _ = trained
    written = (out / "config.yaml").read_text()
    assert "model:\n" in written and "hidden-size: 32" in written
    arguments = cli.parse_arguments(["train", *TINY, *TRAINED, "--out", str(out)])
    assert load_config(out / "config.yaml") == run_config(arguments)


def test_the_api_takes_what_the_command_line_takes():
    """RunConfig built in Python equals the command line's for the same settings."""
    arguments = cli.parse_arguments(["train", *TINY, "--teacher-forcing", "0.9", "--out", "r"])
    assert run_config(arguments) == RunConfig(
        data=DataConfig(examples=300, min_len=2, max_len=4, words=8),
        model=model_config(embedding_size=8, hidden_size=16),
        train=TrainConfig(epochs=2, batch_size=16, progress=False, teacher_forcing=0.9),
        out="r",
        device="cpu",
    )


def old_checkpoint(trained, tmp_path, **changes):
    """best.pt as an earlier version wrote it: the task options without the
    run config's later fields (`changes` then applied to the extra state)."""
    out, _ = trained
    payload = load_checkpoint(out / "best.pt")
    payload.pop("format")
    old_keys = ("task", "examples", "seed", "min_len", "max_len", "words", "digits", "data")
    old_keys += ("max_pairs", "tokenizer", "subword_vocab_size", "subword_type", "joint_vocab")
    payload["extra"]["data"] = {key: payload["extra"]["data"][key] for key in old_keys}
    for key, value in changes.items():
        if value is None:
            payload["extra"].pop(key)
        else:
            payload["extra"][key] = value
    path = tmp_path / "old.pt"
    save_checkpoint(path, payload)
    return path


def test_old_checkpoints_evaluate_and_translate(trained, tmp_path, capsys):
    out, result = trained
    cfg = RunConfig(device="cpu")
    evaluated = evaluate(cfg, old_checkpoint(trained, tmp_path))
    assert evaluated["examples"] == result["test_examples"]
    assert evaluated["exact_match"] == pytest.approx(result["exact_match"])
    assert evaluate(replace(cfg, out=str(out)))["bleu"] == pytest.approx(result["bleu"])
    capsys.readouterr()
    assert translate(cfg, ["w1 w2 w3"], tmp_path / "old.pt") == {"translated": 1}
    assert len(capsys.readouterr().out.splitlines()) == 1


def test_checkpoints_without_what_evaluate_needs_fail_in_one_line(trained, tmp_path, capsys):
    no_task = old_checkpoint(trained, tmp_path, data=None)
    with pytest.raises(InputError, match="does not say which task it was trained on"):
        evaluate(RunConfig(device="cpu"), no_task)
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("w1 w2\tw2 w1\nw3 w4\tw4 w3\n")
    assert evaluate(RunConfig(device="cpu"), no_task, data=pairs)["examples"] == 2
    no_vocab = old_checkpoint(trained, tmp_path, tgt_vocab=None)
    argv = ["translate", "--checkpoint", str(no_vocab), "--device", "cpu", "w1"]
    with pytest.raises(SystemExit):
        cli.main(argv)
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: {no_vocab} has no ['tgt_vocab']: it was not written with vocabularies"
        " (use load_model for the model alone)"
    ]


def test_a_model_config_from_another_version_fails_in_one_line(trained, tmp_path):
    out, _ = trained
    payload = load_checkpoint(out / "best.pt")
    payload.pop("format")
    payload["model_config"]["layer_norm"] = True
    save_checkpoint(tmp_path / "newer.pt", payload)
    with pytest.raises(CheckpointError, match="newer.pt: its model config does not load: "):
        evaluate(RunConfig(device="cpu"), tmp_path / "newer.pt")
