"""The translation toolkit on the library: data (vocabularies, tokenizers,
tasks, batches), the Trainer (trainer.py),
translator, metrics, plots, the run config (config.py: RunConfig and its
sections; options.py: its options, YAML files), the workflow as functions of a
RunConfig (run.py, exported here) and the command line (``python -m
seq2seq_ext``, cli.py). Its dependencies are the package's ``nmt`` extra:
``pip install 'seq2seq_ext[nmt]'``.

    from seq2seq_ext import nmt
    cfg = nmt.load_config("configs/reverse_words.yaml", {"epochs": 5})
    metrics = nmt.train(cfg)
    nmt.evaluate(cfg)  # cfg.out/best.pt
"""

import importlib.util

# module -> the distribution that provides it (pyproject.toml's nmt extra)
_DEPENDENCIES = {
    "tqdm": "tqdm",
    "matplotlib": "matplotlib",
    "sacrebleu": "sacrebleu",
    "sentencepiece": "sentencepiece",
    "yaml": "pyyaml",
}
_missing = [dist for module, dist in _DEPENDENCIES.items() if not importlib.util.find_spec(module)]
if _missing:
    raise ImportError(
        f"seq2seq_ext.nmt needs {', '.join(_missing)}: pip install 'seq2seq_ext[nmt]' "
        "(or the packages by name)"
    )

from .config import DataConfig, DecodeConfig, RunConfig, TrainConfig, model_config  # noqa: E402
from .options import load_config, with_settings, write_run_config  # noqa: E402
from .run import TrainedRun, evaluate, export, sweep, train, train_run, translate  # noqa: E402

__all__ = [
    "DataConfig",
    "DecodeConfig",
    "RunConfig",
    "TrainConfig",
    "TrainedRun",
    "evaluate",
    "export",
    "load_config",
    "model_config",
    "sweep",
    "train",
    "train_run",
    "translate",
    "with_settings",
    "write_run_config",
]
