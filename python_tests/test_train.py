"""Training: masked loss, exact resume, checkpoints that fail cleanly, AMP,
DistributedDataParallel over gloo, and the command line."""

import json

import pytest
import torch
from conftest import result_of, run_python

from seq2seq_ext import cli
from seq2seq_ext.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from seq2seq_ext.data import Vocab, make_loader, reverse_words_pairs, train_valid_test_split
from seq2seq_ext.models import Seq2Seq, Seq2SeqConfig
from seq2seq_ext.train import TrainConfig, Trainer, load_model, masked_cross_entropy
from seq2seq_ext.translator import Translator

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


def make_trainer(out_dir, model_seed, epochs=3, stop_after_epoch=None, **config):
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
    train_config = TrainConfig(
        epochs=epochs,
        lr=1e-2,
        teacher_forcing_start=1.0,
        teacher_forcing_end=0.5,
        progress=False,
        stop_after_epoch=stop_after_epoch,
    )
    return Trainer(model, train_loader, valid_loader, train_config, out_dir)


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
def test_mixed_precision_training_runs(tmp_path, amp):
    trainer = make_trainer(tmp_path, model_seed=0, epochs=1)
    trainer.config.amp = amp
    trainer.scaler = torch.amp.GradScaler("cpu", enabled=amp == "fp16")
    record = trainer.fit()[0]
    assert torch.isfinite(torch.tensor([record["train_loss"], record["valid_loss"]])).all()


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
    """torchrun with 2 CPU processes: one process group, half the batches each,
    rank 0 writing the files."""
    completed = run_python(
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        "29533",
        "-m",
        "seq2seq_ext",
        "train",
        *TINY,
        "--out",
        tmp_path,
        OMP_NUM_THREADS="1",
    )
    assert result_of(completed.stdout)["epochs"] == 2
    assert len(json.loads((tmp_path / "history.json").read_text())) == 2


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli")
    result = cli.main(["train", *TINY, "--out", str(out)])
    return out, result


def test_cli_train_evaluate_translate(trained, capsys):
    out, result = trained
    assert 0.0 <= result["exact_match"] <= 1.0 and result["test_examples"] > 0
    evaluated = cli.main(["evaluate", "--checkpoint", str(out / "best.pt"), "--device", "cpu"])
    assert evaluated["exact_match"] == pytest.approx(result["exact_match"])
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


def test_cli_sweep_writes_a_table_and_a_plot(tmp_path):
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
    with pytest.raises(SystemExit):
        cli.main(["sweep", "--param", "nonsense", "--values", "1", *TINY])
