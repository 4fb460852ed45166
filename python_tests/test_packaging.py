"""The library (ops, nn, models) needs torch and numpy alone; the translation
toolkit (seq2seq_ext.nmt) needs the nmt extra, and says so when it is missing."""

import os
import subprocess
import sys
from pathlib import Path

import tomllib
import torch
from conftest import REPO

from seq2seq_ext import nmt

SCRIPT = """
import torch
import seq2seq_ext
from seq2seq_ext.models import Seq2Seq
lstm = seq2seq_ext.FusedLSTM(4, 5)
lstm(torch.randn(3, 2, 4))[0].sum().backward()
model = Seq2Seq(src_vocab_size=9, tgt_vocab_size=8, hidden_size=8, embedding_size=4).eval()
model.greedy_decode(torch.tensor([[4, 5, 3]]), torch.tensor([3]), max_len=4)
print("library ran")
try:
    import seq2seq_ext.nmt
except ImportError as error:
    print(error)
"""


def test_the_library_runs_without_the_toolkit_dependencies(tmp_path):
    """In an interpreter that sees every installed package but the nmt extra's
    (python -S, with a site folder of links to the others)."""
    site = Path(torch.__file__).parents[1]
    hidden = tuple(nmt._DEPENDENCIES) + ("_yaml",)
    for entry in site.iterdir():
        if not entry.name.startswith(hidden) and not entry.name.endswith(".pth"):
            (tmp_path / entry.name).symlink_to(entry)
    result = subprocess.run(
        [sys.executable, "-S", "-c", SCRIPT],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    library_ran, error = result.stdout.strip().splitlines()
    assert library_ran == "library ran"
    assert error == (
        "seq2seq_ext.nmt needs tqdm, matplotlib, sacrebleu, sentencepiece, pyyaml: "
        "pip install 'seq2seq_ext[nmt]' (or the packages by name)"
    )


def test_the_nmt_extra_lists_what_the_toolkit_checks():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["dependencies"] == ["torch>=2.4", "numpy"]
    assert sorted(project["optional-dependencies"]["nmt"]) == sorted(nmt._DEPENDENCIES.values())
