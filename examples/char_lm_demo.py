"""A character-level language model trained with seq2seq_ext.FusedLSTMCell.

embedding -> FusedLSTMCell, stepped over time in Python -> linear, trained
with Adam on truncated-BPTT windows of procedurally generated sentences, for a
wall-clock budget. Prints the training loss as it falls, a sampled text, and the
time of one training step with FusedLSTMCell vs torch.nn.LSTMCell (same weights);
writes the losses and the result to OUT/char_lm.json and, as its last line,
RESULT {json}.

    python examples/char_lm_demo.py [--quick] [--seconds 60] [--device cpu] [--seed 0]
        [--out runs/examples/char_lm_demo]
"""

import json
import math
import random
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from seq2seq_ext import FusedLSTMCell, backend_summary
from seq2seq_ext.nmt.options import OptionParser

SUBJECTS = ["the cat", "a dog", "the old man", "my sister", "the small bird", "a farmer"]
VERBS = ["sees", "likes", "chases", "finds", "watches", "follows"]
OBJECTS = ["the river", "a red ball", "the moon", "an apple", "the green hill", "a boat"]
ENDINGS = [".", " today.", " at night.", " again."]
EMBED_SIZE, HIDDEN_SIZE, BATCH, WINDOW, LEARNING_RATE = 32, 256, 32, 64, 3e-3


def make_text(n_sentences, rng):
    return " ".join(
        f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}{rng.choice(ENDINGS)}"
        for _ in range(n_sentences)
    )


class CharLM(nn.Module):
    def __init__(self, vocab_size, cell_class):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, EMBED_SIZE)
        self.cell = cell_class(EMBED_SIZE, HIDDEN_SIZE)
        self.head = nn.Linear(HIDDEN_SIZE, vocab_size)

    def forward(self, tokens, state=None):
        """tokens (B, T) -> logits (B, T, vocab), final (h, c)."""
        hidden_states = []
        for x in self.embed(tokens).unbind(1):  # the cell API is one time step per call
            state = self.cell(x, state)
            hidden_states.append(state[0])
        return self.head(torch.stack(hidden_states, 1)), state


def windows(ids, batch, window):
    """Endless (inputs, targets, is_new_pass) windows: the text cut into `batch`
    parallel streams, read left to right, so the state carries across windows."""
    streams = ids[: len(ids) // batch * batch].view(batch, -1)
    while True:
        for start in range(0, streams.size(1) - window - 1, window):
            yield (
                streams[:, start : start + window],
                streams[:, start + 1 : start + window + 1],
                start == 0,
            )


def loss_of(model, inputs, targets, state=None):
    logits, state = model(inputs, state)
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten()), state


@torch.no_grad()
def sample(model, vocab, prompt, length, device):
    ids = torch.tensor([[vocab.index(ch) for ch in prompt]], device=device)
    logits, state = model(ids)
    text = prompt
    for _ in range(length):
        next_id = torch.multinomial(logits[0, -1].softmax(-1), 1)
        text += vocab[next_id.item()]
        logits, state = model(next_id.view(1, 1), state)
    return text


def training_step_ms(models, inputs, targets, device, warmup=3, repeats=20):
    """Median wall time of one training step (forward, backward, Adam) per model,
    the models stepped in turn so that machine load falls on both alike."""
    optimizers = {
        name: torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
        for name, model in models.items()
    }
    times = {name: [] for name in models}
    for round_index in range(warmup + repeats):
        for name, model in models.items():
            start = time.perf_counter()
            optimizers[name].zero_grad(set_to_none=True)
            loss_of(model, inputs, targets)[0].backward()
            optimizers[name].step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            if round_index >= warmup:
                times[name].append((time.perf_counter() - start) * 1e3)
    return {name: statistics.median(t) for name, t in times.items()}


def main():
    parser = OptionParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="train for 10 s, not 60; time 5 steps, not 20"
    )
    parser.add_argument("--seconds", type=float, help="training time budget (default: 60)")
    parser.add_argument("--device", default="cpu", help="default: %(default)s")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out",
        metavar="DIR",
        default="runs/examples/char_lm_demo",
        help="where char_lm.json goes (default: %(default)s)",
    )
    args = parser.parse_args()
    args.seconds = args.seconds or (10 if args.quick else 60)
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    train_text, valid_text = make_text(4000, rng), make_text(200, rng)
    vocab = sorted(set(train_text + valid_text))
    train_ids, valid_ids = (
        torch.tensor([vocab.index(ch) for ch in text], device=device)
        for text in (train_text, valid_text)
    )
    valid_inputs, valid_targets, _ = next(windows(valid_ids, BATCH, WINDOW))

    model = CharLM(len(vocab), FusedLSTMCell).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    with torch.no_grad():
        initial_loss = loss_of(model, valid_inputs, valid_targets)[0].item()
    print(
        f"{len(train_text)} characters, vocabulary {len(vocab)}, validation loss before training "
        f"{initial_loss:.3f} (a uniform guess: {math.log(len(vocab)):.3f})"
    )

    steps, recent_losses, state, reports = 0, [], None, []
    start = last_report = time.perf_counter()
    for inputs, targets, is_new_pass in windows(train_ids, BATCH, WINDOW):
        if is_new_pass:
            state = None  # the streams start over: forget the state
        loss, state = loss_of(model, inputs, targets, state)
        state = tuple(s.detach() for s in state)  # truncated BPTT: no gradient into earlier windows
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        steps += 1
        recent_losses.append(loss.item())
        now = time.perf_counter()
        if now - last_report >= args.seconds / 10 or now - start >= args.seconds:
            reports.append(
                {"step": steps, "seconds": now - start, "loss": statistics.mean(recent_losses)}
            )
            print(f"step {steps:5d}  {now - start:5.1f} s  training loss {reports[-1]['loss']:.3f}")
            recent_losses, last_report = [], now
        if now - start >= args.seconds:
            break

    with torch.no_grad():
        final_loss = loss_of(model, valid_inputs, valid_targets)[0].item()
    print(f"validation loss after {steps} steps: {final_loss:.3f}")
    print("sample:", repr(sample(model, vocab, "the ", 120, device)))

    torch_model = CharLM(len(vocab), nn.LSTMCell).to(device)
    torch_model.load_state_dict(model.state_dict())
    step_ms = training_step_ms(
        {"fused": model, "torch": torch_model},
        valid_inputs,
        valid_targets,
        device,
        repeats=5 if args.quick else 20,
    )
    print(
        f"one training step (B={BATCH}, T={WINDOW}, H={HIDDEN_SIZE}): FusedLSTMCell {step_ms['fused']:.1f} ms, "
        f"torch.nn.LSTMCell {step_ms['torch']:.1f} ms, ratio torch/fused {step_ms['torch'] / step_ms['fused']:.2f}"
    )
    result = dict(
        initial_loss=initial_loss,
        final_loss=final_loss,
        steps=steps,
        fused_ms_per_step=step_ms["fused"],
        torch_ms_per_step=step_ms["torch"],
        backend=backend_summary(device),
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "char_lm.json").write_text(json.dumps({"losses": reports, **result}, indent=1))
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
