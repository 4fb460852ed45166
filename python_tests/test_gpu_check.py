"""The GPU check (.ci/gpu), prepared here where no GPU is: its stages fit the
9 minutes a lent GPU gives one command, its sanitizer cases run, and the CUDA
tests it selects are the ones that skip here."""

import os
import re
import subprocess
import sys

import pytest
from conftest import CUDA, REPO, run_python


def test_dry_run_lists_the_stages_within_nine_minutes():
    result = subprocess.run(
        [REPO / ".ci" / "gpu", "--dry-run", "OUT"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    stages = dict(re.findall(r"^== (\S+) \(at most (\d+) s", result.stdout, re.M))
    assert list(stages) == [
        "prepare",
        "build",
        "cuda-tests",
        "sanitizers",
        "benchmark",
        "benchmark-peers",
    ]
    default = [name for name in stages if name != "benchmark-peers"]
    assert sum(int(stages[name]) for name in default) <= 9 * 60
    assert int(stages["benchmark-peers"]) <= 9 * 60
    for tool in ("memcheck", "initcheck", "racecheck", "synccheck"):
        assert tool in result.stdout
    assert "pytest -q -rfEs -p no:cacheprovider -m cuda" in result.stdout
    assert "TORCH_CUDA_ARCH_LIST=9.0" in result.stdout


def test_an_unknown_stage_is_refused():
    result = subprocess.run(
        [REPO / ".ci" / "gpu", "--stage", "nothing", "OUT"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and result.stdout.startswith("no stage nothing; stages:")


def test_sanitizer_cases_run_every_op_family():
    """The cases the sanitizers run, on the CPU kernels (a dry run)."""
    stdout = run_python(REPO / ".ci" / "sanitize_cases.py", "cpu").stdout
    for case in ("cells", "layers", "attention"):
        for dtype in ("torch.float32", "torch.bfloat16"):
            assert f"{case} {dtype}: ran" in stdout
    assert stdout.strip().endswith("sanitize cases: all ran")


@pytest.mark.skipif(CUDA, reason="with a GPU the cuda tests run instead of skipping")
def test_the_cuda_tests_are_marked_cuda():
    """pytest -m cuda (the cuda-tests stage) selects the tests that need a GPU:
    here, without one, it collects more than 200 and skips every one."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-m",
            "cuda",
            "python_tests",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = result.stdout.strip().splitlines()[-1]
    skipped = int(re.search(r"(\d+) skipped", summary).group(1))
    assert skipped > 200 and "passed" not in summary and "failed" not in summary, summary


def test_the_cuda_tests_collect_without_expecttest(tmp_path):
    """The GPU machine's image has no expecttest (.ci/gpu --fetch-wheels brings
    it): with it hidden, the cuda-tests stage's selection still collects, the
    file that needs it skipped rather than an error that stops the stage."""
    (tmp_path / "expecttest.py").write_text("raise ModuleNotFoundError(name='expecttest')\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
        + ["-m", "cuda", "python_tests"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert "error" not in summary, summary
    assert int(re.search(r"(\d+)(/\d+)? tests collected", summary).group(1)) > 200, summary


def test_a_stage_without_the_build_says_so(tmp_path):
    """--stage NAME on a fresh machine (no compiled library: here, the library
    ignored) stops with one clear line instead of testing the fallback."""
    result = subprocess.run(
        [REPO / ".ci" / "gpu", "--stage", "cuda-tests", tmp_path / "out"],
        env={**os.environ, "SEQ2SEQ_EXT_FORCE_REFERENCE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stdout.startswith("no build of the extension here"), result.stdout


def test_started_from_another_folder(tmp_path):
    """Started as ./gpu from .ci/, the script still finds itself to run a
    stage (here prepare, which fails where no GPU is) after moving to the
    repository root, and writes its log and summary under OUT as given."""
    out = os.path.relpath(tmp_path / "out", REPO / ".ci")
    subprocess.run(
        ["./gpu", "--stage", "prepare", out], cwd=REPO / ".ci", capture_output=True, timeout=120
    )
    log = (tmp_path / "out" / "prepare.log").read_text()
    assert "No such file or directory" not in log and "nvidia-smi" in log, log
    assert (tmp_path / "out" / "summary.txt").read_text().startswith("prepare: ")
