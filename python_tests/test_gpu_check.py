"""The GPU check (.ci/gpu), prepared here where no GPU is: its stages fit the
9 minutes a lent GPU gives one command, its sanitizer cases run, and the CUDA
tests it selects are the ones that skip here."""

import os
import re
import subprocess
import sys
import textwrap

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
    assert "pytest -vv -rfEs -p no:cacheprovider -m cuda -n 8" in result.stdout
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


# Tests for the cuda-tests stage to run, one of each outcome and two that
# outlast the stage; with DEAF set, every pytest process ignores SIGINT (as one
# stuck in a CUDA call would), so that only SIGKILL stops them.
PLANTED_TESTS = """
import os, signal, time
import pytest

if os.environ.get("DEAF"):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
pytestmark = pytest.mark.cuda

@pytest.mark.parametrize("i", range(4))
def test_passes(i):
    pass

def test_fails():
    assert 1 == 2, "planted failure"

def test_skips():
    pytest.skip("planted skip")

@pytest.fixture
def broken():
    raise RuntimeError("planted error")

def test_errors(broken):
    pass

@pytest.mark.xfail(reason="planted")
def test_xfails():
    assert False

@pytest.mark.parametrize("i", range(2))
def test_hangs(i):
    time.sleep(600)
"""
ENDED = {
    "test_passes[0]": "PASSED",
    "test_passes[1]": "PASSED",
    "test_passes[2]": "PASSED",
    "test_passes[3]": "PASSED",
    "test_fails": "FAILED",
    "test_skips": "SKIPPED",
    "test_errors": "ERROR",
    "test_xfails": "XFAIL",
}


@pytest.mark.parametrize("deaf", [False, True], ids=["pytest stops on SIGINT", "SIGKILL"])
def test_a_stage_that_runs_out_of_time_keeps_every_outcome(tmp_path, deaf):
    """The cuda-tests stage at a limit of 40 s on tests of which two never end:
    its log has every other test's outcome, names the two as still running,
    and (when pytest can stop cleanly) the failure's message; its summary line
    says so. A stand-in python answers the build check (no GPU here)."""
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_planted.py").write_text(PLANTED_TESTS)
    (tests / "pytest.ini").write_text("[pytest]\nmarkers =\n    cuda: planted\n")
    python = tmp_path / "python"
    python.write_text(
        textwrap.dedent(f"""\
            #!/bin/sh
            case "$2" in *backend_summary*) exit 0 ;; esac  # the build check: "built"
            exec {sys.executable} "$@"
            """)
    )
    python.chmod(0o755)
    out = tmp_path / "out"
    environment = {**os.environ, "PYTHON": str(python), "GPU_STAGE_LIMIT": "40"}
    if deaf:
        environment["DEAF"] = "1"
    result = subprocess.run(
        [REPO / ".ci" / "gpu", "--stage", "cuda-tests", out, tests],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    log = (out / "cuda-tests.log").read_text()
    outcomes = dict(
        (name, outcome)
        for outcome, name in re.findall(r"^\[gw\d+\] \[ *\d+%\] ([A-Z]+) \S+::(\S+) *$", log, re.M)
    )
    assert outcomes == ENDED, log
    stopped = re.search(r"^pytest stopped at 20 s \(the stage's limit: 40 s\): (.*)$", log, re.M)
    assert stopped, log
    running = stopped.group(1).split("still running: ")[1].split()
    assert [name.split("::")[1] for name in running] == ["test_hangs[0]", "test_hangs[1]"]
    assert stopped.group(1).startswith("8 of 10 tests ended")
    if not deaf:  # pytest's own summary: the failure's message
        assert re.search(r"^FAILED \S+::test_fails - AssertionError: planted failure", log, re.M)
    summary = (out / "summary.txt").read_text()
    assert summary.startswith("cuda-tests: TIMED OUT") and "still running" in summary, summary
