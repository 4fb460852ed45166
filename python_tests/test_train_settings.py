"""What each training setting does, observed where it takes effect: the
learning rate the optimizer steps with each epoch (the schedule's formula),
the teacher-forcing ratio reaching the model each epoch, scheduled sampling
in Seq2Seq.forward on both loops (the logits differ from teacher forcing
exactly where the sampling mask feeds a prediction that is not the target),
the gradient norm after clipping, the seed, progress bars; and, through
nmt.train, the batch size, the data, model and decode sections' settings,
and --restart."""

import math
from dataclasses import replace

import pytest
import torch
from test_train import make_trainer

from seq2seq_ext.checkpoint import load_checkpoint
from seq2seq_ext.models import InferenceSeq2Seq, Seq2Seq, Seq2SeqConfig
from seq2seq_ext.nmt import DataConfig, DecodeConfig, RunConfig, TrainConfig, model_config, train
from seq2seq_ext.nmt import trainer as trainer_module

EPOCHS = 3


def record_steps(trainer):
    """[(epoch, lr, gradient norm)] of every optimizer step of `trainer`,
    filled as it trains: what the optimizer steps with."""
    steps, original_step = [], trainer.optimizer.step
    epoch = {"now": None}
    original_epoch = trainer.train_epoch

    def train_epoch(number):
        epoch["now"] = number
        return original_epoch(number)

    def step(*args, **kwargs):
        grads = [p.grad for p in trainer.model.parameters() if p.grad is not None]
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
        steps.append((epoch["now"], trainer.optimizer.param_groups[0]["lr"], float(norm)))
        return original_step(*args, **kwargs)

    trainer.train_epoch, trainer.optimizer.step = train_epoch, step
    return steps


@pytest.mark.parametrize(
    "schedule, min_lr_ratio",
    [("constant", 0.05), ("cosine", 0.05), ("cosine", 0.5)],
)
def test_the_learning_rate_of_each_epoch_is_the_schedules(tmp_path, schedule, min_lr_ratio):
    """constant: lr throughout; cosine: lr (r + (1 - r)(1 + cos(pi e / (E - 1))) / 2),
    from lr at the first epoch to lr r at the last (r = min_lr_ratio)."""
    lr = 0.02
    trainer = make_trainer(
        tmp_path, 0, epochs=EPOCHS,
        training=dict(lr=lr, lr_schedule=schedule, min_lr_ratio=min_lr_ratio),
    )  # fmt: skip
    steps = record_steps(trainer)
    history = trainer.fit()
    for epoch in range(EPOCHS):
        if schedule == "constant":
            expected = lr
        else:
            cosine = (1 + math.cos(math.pi * epoch / (EPOCHS - 1))) / 2
            expected = lr * (min_lr_ratio + (1 - min_lr_ratio) * cosine)
        rates = [rate for e, rate, _ in steps if e == epoch]
        assert rates and all(rate == pytest.approx(expected, rel=1e-12) for rate in rates), epoch
        assert history[epoch]["lr"] == pytest.approx(expected, rel=1e-12)
    if schedule == "cosine":
        assert steps[-1][1] == pytest.approx(lr * min_lr_ratio)


def model_ratios(trainer):
    """[(epoch, teacher_forcing_ratio)] of every training call of the model."""
    calls = []

    def hook(module, args, kwargs):
        if module.training:
            ratio = args[3] if len(args) > 3 else kwargs.get("teacher_forcing_ratio", 1.0)
            calls.append((len(trainer.history), ratio))

    trainer.model.register_forward_pre_hook(hook, with_kwargs=True)
    return calls


@pytest.mark.parametrize("ratios", [(1.0, 0.0), (0.9,)])
def test_the_teacher_forcing_ratio_reaching_the_model_each_epoch(tmp_path, ratios):
    """The first and last epoch's ratios, linearly in between (one: throughout)."""
    trainer = make_trainer(tmp_path, 0, epochs=EPOCHS, training=dict(teacher_forcing=ratios))
    calls = model_ratios(trainer)
    history = trainer.fit()
    first, last = (ratios * 2)[:2]
    for epoch in range(EPOCHS):
        expected = first + epoch / (EPOCHS - 1) * (last - first)
        reached = [ratio for e, ratio in calls if e == epoch]
        assert reached and all(ratio == pytest.approx(expected) for ratio in reached), epoch
        assert history[epoch]["teacher_forcing"] == pytest.approx(expected)


@pytest.mark.parametrize("clip", [0.05, 0.0])
def test_the_gradient_norm_after_clipping(tmp_path, clip, monkeypatch):
    """The optimizer steps with gradients of norm min(norm, clip); clip 0
    leaves them as they are."""
    norms_before = []
    clip_grad_norm = torch.nn.utils.clip_grad_norm_

    def recording_clip(parameters, max_norm, *args, **kwargs):
        norms_before.append(float(clip_grad_norm(parameters, max_norm, *args, **kwargs)))
        return norms_before[-1]

    monkeypatch.setattr(trainer_module.nn.utils, "clip_grad_norm_", recording_clip)
    trainer = make_trainer(tmp_path, 0, epochs=1, training=dict(clip=clip))
    steps = record_steps(trainer)
    trainer.fit()
    norms_after = [norm for _, _, norm in steps]
    if clip == 0:
        assert norms_before == [] and max(norms_after) > 0.05
        return
    assert len(norms_before) == len(norms_after) > 0
    for before, after in zip(norms_before, norms_after):
        assert after == pytest.approx(min(before, clip), rel=1e-5)
    assert max(norms_before) > clip  # the clipping was exercised


def test_the_seed_fixes_the_run(tmp_path):
    """The same seed trains the same (dropout, sampling and shuffling draws);
    another seed does not."""

    def losses(folder, seed):
        trainer = make_trainer(tmp_path / folder, 0, epochs=2, training=dict(seed=seed))
        return [record["train_loss"] for record in trainer.fit()]

    assert losses("a", 1) == losses("b", 1) != losses("c", 2)


@pytest.mark.parametrize("progress", [True, False])
def test_progress_bars(tmp_path, capsys, progress):
    make_trainer(tmp_path, 0, epochs=1, training=dict(progress=progress)).fit()
    assert ("epoch 0" in capsys.readouterr().err) == progress


# ------------------------------------------------------------ scheduled sampling


def sampling_model(loop):
    torch.manual_seed(0)
    config = Seq2SeqConfig(
        15, 12, embedding_size=8, hidden_size=16, cell="gru", input_feeding=loop == "cpp"
    )
    return Seq2Seq(config).double().eval()


@pytest.mark.parametrize("loop", ["cpp", "python"])
def test_scheduled_sampling_feeds_predictions_exactly_where_the_mask_says(loop):
    """Ratio 0.5: the forward draws its mask (torch.rand(steps) < ratio) and
    feeds step t the target where the mask is True, else step t-1's argmax.
    So its logits are teacher forcing's on the tokens it fed, and equal
    teacher forcing's on the target up to the first fed prediction that is
    not the target, and differ from there on."""
    model = sampling_model(loop)
    generator = torch.Generator().manual_seed(3)
    src = torch.randint(4, 15, (6, 5), generator=generator)
    lengths = torch.tensor([5, 3, 5, 4, 2, 5])
    tgt = torch.randint(4, 12, (6, 9), generator=generator)
    tgt[:, 0] = 1
    torch.manual_seed(11)
    sampled = model(src, lengths, tgt, 0.5, loop=loop)
    torch.manual_seed(11)
    mask = torch.rand(tgt[:, :-1].shape, dtype=torch.float32) < 0.5  # the forward's draw
    fed = torch.where(mask, tgt[:, :-1], torch.cat([tgt[:, :1], sampled[:, :-1].argmax(2)], 1))
    fed[:, 0] = tgt[:, 0]
    assert not torch.equal(fed, tgt[:, :-1])  # some predictions fed differ from the target
    assert torch.equal(fed[mask], tgt[:, :-1][mask])
    forced_on_fed = model(src, lengths, torch.cat([fed, tgt[:, -1:]], 1), loop=loop)
    torch.testing.assert_close(sampled, forced_on_fed, rtol=0, atol=1e-12)
    forced = model(src, lengths, tgt, loop=loop)
    for row in range(tgt.shape[0]):
        wrong = (fed[row] != tgt[row, :-1]).nonzero()
        first = int(wrong[0]) if len(wrong) else tgt.shape[1] - 1
        assert torch.equal(sampled[row, :first], forced[row, :first]), row
        assert not torch.equal(sampled[row, first:], forced[row, first:]) or not len(wrong)


# ------------------------------------------------------------ through nmt.train

TINY = dict(task="reverse_words", examples=300, min_len=2, max_len=6, words=9, max_tokens=4)


def tiny_run(out, **changes) -> RunConfig:
    cfg = RunConfig(
        data=DataConfig(**TINY),
        model=model_config(
            cell="lstm", attention="luong-general", embedding_size=8, hidden_size=12,
            num_layers=2, bidirectional=True, dropout=0.2, input_feeding=True, backend="torch",
        ),
        train=TrainConfig(epochs=1, batch_size=8, progress=False),
        decode=DecodeConfig(beam=2, decode_len=7, length_penalty=0.5, weights="bfloat16",
                            batch_size=3),
        out=str(out),
        device="cpu",
    )  # fmt: skip
    return replace(cfg, **changes)


def test_the_data_model_and_decode_sections_reach_the_run(tmp_path, monkeypatch):
    """The batches hold at most batch_size pairs of at most max_tokens tokens
    from the generator's settings; the model is the model section's; the test
    split is decoded as the decode section says."""
    batches, searches = [], []
    batch_loss = trainer_module.batch_loss

    def recording_loss(network, model, batch, ratio=1.0):
        batches.append((batch.src.shape[0], batch.src_lengths.max().item(), batch.tgt))
        return batch_loss(network, model, batch, ratio)

    def recording_search(self, src, lengths, beam_size, max_len, length_penalty, loop="auto"):
        weights = {t.dtype for t in self.decoder.state_dict().values()}
        searches.append((src.shape[0], beam_size, max_len, length_penalty, weights))
        return beam_search(self, src, lengths, beam_size, max_len, length_penalty, loop)

    beam_search = InferenceSeq2Seq.beam_search
    monkeypatch.setattr(trainer_module, "batch_loss", recording_loss)
    monkeypatch.setattr(InferenceSeq2Seq, "beam_search", recording_search)
    result = train(tiny_run(tmp_path))
    sizes = [size for size, _, _ in batches]
    assert max(sizes) == 8 and max(length for _, length, _ in batches) <= 4 + 1  # and <eos>
    words = {int(t) for _, _, tgt in batches for t in tgt.flatten()}
    assert max(words) < 9 + 4  # the task's words and the special tokens
    assert result["test_examples"] == sum(size for size, *_ in searches)
    assert {size for size, *_ in searches} <= {1, 2, 3} and 3 in {size for size, *_ in searches}
    assert {tuple(s[1:4]) for s in searches} == {(2, 7, 0.5)}
    assert all(torch.bfloat16 in weights for *_, weights in searches)
    checkpoint = load_checkpoint(tmp_path / "best.pt")
    config = Seq2SeqConfig.from_dict(checkpoint["model_config"])
    expected = dict(cell="lstm", attention="luong-general", embedding_size=8, hidden_size=12,
                    num_layers=2, bidirectional=True, dropout=0.2, input_feeding=True,
                    backend="torch")  # fmt: skip
    assert {key: getattr(config, key) for key in expected} == expected
    assert checkpoint["model"]["decoder.rnn.weight_ih_l1"].shape == (4 * 12, 12)
    assert checkpoint["model"]["encoder.rnn.weight_hh_l1_reverse"].shape == (4 * 12, 12)


def test_restart_ignores_the_last_checkpoint(tmp_path):
    """A second run resumes from last.pt (one more epoch); with restart it
    starts over and reproduces the first run."""
    small = dict(model=model_config(embedding_size=8, hidden_size=12))
    first = train(tiny_run(tmp_path, **small))
    cfg = tiny_run(tmp_path, **small)
    resumed = train(replace(cfg, train=replace(cfg.train, epochs=2)))
    assert (first["epochs"], resumed["epochs"]) == (1, 2)
    restarted = train(replace(cfg, restart=True))
    assert restarted["epochs"] == 1 and restarted["valid_loss"] == first["valid_loss"]
