"""The translation toolkit on the library: data (vocabularies, tokenizers,
tasks, batches), train (Trainer), translator, metrics, plots, the config file
and the command line (``python -m seq2seq_ext``). Its dependencies are the
package's ``nmt`` extra: ``pip install 'seq2seq_ext[nmt]'``."""

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
