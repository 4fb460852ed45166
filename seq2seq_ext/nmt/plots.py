"""Plots: learning curves, attention heatmaps and the RNN-vs-LSTM-by-length
comparison. matplotlib (Agg backend, files only) is imported on first use."""

from pathlib import Path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    _pyplot().close(figure)
    return path


def plot_learning_curves(history: list, path) -> Path:
    """history: the Trainer's records (epoch, train_loss, valid_loss,
    valid_token_accuracy): losses on the left, accuracy on the right."""
    plt = _pyplot()
    figure, (losses, accuracy) = plt.subplots(1, 2, figsize=(10, 4))
    epochs = [record["epoch"] + 1 for record in history]
    losses.plot(epochs, [r["train_loss"] for r in history], marker="o", label="train")
    losses.plot(epochs, [r["valid_loss"] for r in history], marker="o", label="validation")
    losses.set(xlabel="epoch", ylabel="cross-entropy per token", yscale="log")
    losses.legend()
    accuracy.plot(epochs, [r["valid_token_accuracy"] for r in history], marker="o")
    accuracy.set(xlabel="epoch", ylabel="validation token accuracy", ylim=(0, 1.02))
    for axes in (losses, accuracy):
        axes.grid(alpha=0.3)
    return _save(figure, path)


def plot_attention(weights, source_tokens: list, output_tokens: list, path, title=None) -> Path:
    """A heatmap of one sentence's attention weights (len(output), len(source)):
    output tokens down the side, source tokens along the top."""
    return _save(attention_figure(weights, source_tokens, output_tokens, title), path)


def attention_figure(weights, source_tokens: list, output_tokens: list, title=None):
    """plot_attention's figure, not saved (TensorBoard takes the figure)."""
    plt = _pyplot()
    weights = weights[: len(output_tokens), : len(source_tokens)]
    figure, axes = plt.subplots(
        figsize=(max(5.0, 1 + 0.5 * len(source_tokens)), max(3.0, 1 + 0.45 * len(output_tokens)))
    )
    image = axes.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    axes.set_xticks(range(len(source_tokens)), source_tokens, rotation=60, ha="right")
    axes.set_yticks(range(len(output_tokens)), output_tokens)
    axes.xaxis.tick_top()
    axes.set(xlabel="source", ylabel="output")
    if title:
        axes.set_title(title, fontsize=10)
    figure.colorbar(image, ax=axes, fraction=0.04)
    figure.tight_layout()
    return figure


def plot_curves_by_length(curves: dict, path, title=None) -> Path:
    """curves: {(model name, sequence length): [{epoch, train_loss,
    valid_accuracy}, ...]} -> loss and accuracy per epoch, one colour per
    length, one line style per model."""
    plt = _pyplot()
    figure, (losses, accuracy) = plt.subplots(1, 2, figsize=(11, 4))
    lengths = sorted({length for _, length in curves})
    colours = {length: f"C{i}" for i, length in enumerate(lengths)}
    styles = ["-", "--", ":", "-."]
    models = sorted({name for name, _ in curves})
    for (name, length), history in sorted(curves.items()):
        epochs = [record["epoch"] + 1 for record in history]
        style = dict(
            color=colours[length],
            linestyle=styles[models.index(name) % len(styles)],
            label=f"{name}, length {length}",
        )
        losses.plot(epochs, [r["train_loss"] for r in history], **style)
        accuracy.plot(epochs, [r["valid_accuracy"] for r in history], **style)
    losses.set(xlabel="epoch", ylabel="training loss", yscale="log")
    accuracy.set(xlabel="epoch", ylabel="validation accuracy", ylim=(0, 1.02))
    accuracy.legend(fontsize=8)
    for axes in (losses, accuracy):
        axes.grid(alpha=0.3)
    if title:
        figure.suptitle(title)
    return _save(figure, path)


def plot_sweep(histories: dict, param: str, path) -> Path:
    """histories: {value of `param`: Trainer history} -> the validation loss and
    token accuracy per epoch, one line per value."""
    plt = _pyplot()
    figure, (losses, accuracy) = plt.subplots(1, 2, figsize=(10, 4))
    for value, history in histories.items():
        epochs = [record["epoch"] + 1 for record in history]
        losses.plot(
            epochs, [r["valid_loss"] for r in history], marker="o", label=f"{param}={value}"
        )
        accuracy.plot(epochs, [r["valid_token_accuracy"] for r in history], marker="o")
    losses.set(xlabel="epoch", ylabel="validation loss", yscale="log")
    accuracy.set(xlabel="epoch", ylabel="validation token accuracy", ylim=(0, 1.02))
    losses.legend()
    for axes in (losses, accuracy):
        axes.grid(alpha=0.3)
    return _save(figure, path)
