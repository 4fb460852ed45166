"""The benchmark tools, run as a user runs them (python -m from the checkout):
the runner on a tiny configuration, compare.py on synthetic results, and the
renderer of docs/benchmarks.md and the README's headline rows."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import requires_cuda

from seq2seq_ext.flops import count_flops
from seq2seq_ext.models import Seq2SeqConfig

ROOT = Path(__file__).resolve().parent.parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_module(module, *args, **environment):
    """`python -m module ARGS` from the checkout, on the compiled kernels (see
    conftest.run_python)."""
    environment = {"SEQ2SEQ_EXT_REQUIRE_COMPILED": "1", **environment}
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=600,
    )


def run_tiny(device, only, out, **environment):
    """A quick run of the cases matching ``only`` (with these environment
    variables set); returns its results dict."""
    result = run_module(
        "benchmarks.run",
        "--device",
        device,
        "--quick",
        "--only",
        only,
        "--out",
        str(out),
        **environment,
    )
    assert result.returncode == 0, result.stderr
    (json_file,) = out.glob("*-quick-partial.json")
    return json.loads(json_file.read_text())


def test_quick_cpu_run_writes_json_markdown_and_charts(tmp_path):
    data = run_tiny("cpu", r"LSTM step fwd B", tmp_path)
    assert data["backend"]["cpu_kernels"]
    assert data["device"]["threads"] == data["threads"] >= 1 and data["device"]["name"]
    ceilings = data["ceilings"]
    assert set(ceilings["gemm"]) == {"float32"}
    copy = ceilings["copy"]  # measured before and after the cases, the higher kept
    assert copy["gbps"] == max(copy["gbps_before_cases"], copy["gbps_after_cases"]) > 0
    peak_gflops, bandwidth = ceilings["gemm"]["float32"]["gflops"], ceilings["copy"]["gbps"]
    # The GEMM ceiling is the best of its candidates: matmul shapes and torch.nn.LSTM.
    candidates = ceilings["gemm"]["float32"]["candidates"]
    assert len(candidates) > 2 and any(name.startswith("torch.nn.LSTM") for name in candidates)
    assert (
        peak_gflops == max(candidates.values()) == candidates[ceilings["gemm"]["float32"]["best"]]
    )
    fma_peak = ceilings["fma_peak"]  # Linux on an x86 CPU with FMA, as CI's machine is
    assert fma_peak["gflops"] == pytest.approx(
        fma_peak["threads"] * 2 * 2 * fma_peak["float32_lanes"] * fma_peak["ghz"]
    )

    rows = {row["impl"]: row for row in data["rows"]}
    assert set(rows) == {"fused", "torch.nn"}
    fused = rows["fused"]
    assert fused["median_ms"] > 0 and fused["n"] == 20
    assert fused["speedup_over"]["torch.nn"] == pytest.approx(
        rows["torch.nn"]["median_ms"] / fused["median_ms"]
    )
    # One LSTM step, B=64, I=H=256: the gate products (64 x 256) @ (256 x 1024), twice.
    assert fused["flops"] == 2 * (2 * 64 * 256 * 1024)
    for row in rows.values():
        assert row["gflops"] == pytest.approx(row["flops"] / row["median_ms"] / 1e6)
        assert row["fraction_of_ceiling"] == pytest.approx(
            max(row["gflops"] / peak_gflops, row["gbps"] / bandwidth)
        )
        assert row["bound"] == (
            "compute" if row["gflops"] / peak_gflops > row["gbps"] / bandwidth else "memory"
        )
        assert row["peak_memory_mib"] > 0  # the forward allocates its outputs at least

    stem = next(tmp_path.glob("*-quick-partial.json")).with_suffix("")
    markdown = stem.with_suffix(".md").read_text()
    assert f"{fused['speedup_over']['torch.nn']:.2f}x" in markdown
    assert "Ceilings measured in this run" in markdown and f"({fused['bound']})" in markdown
    assert f"Theoretical float32 FMA peak {fma_peak['gflops']:.0f} GFLOP/s" in markdown
    onnxruntime = pytest.importorskip("onnxruntime")  # requirements-dev.txt has it
    assert data["onnxruntime"] == {"version": onnxruntime.__version__}
    assert f"onnxruntime {onnxruntime.__version__}" in markdown
    assert f"| {fused['gflops']:.1f} |" in markdown
    for chart in ("speedup", "ceiling"):
        assert stem.with_name(f"{stem.name}-{chart}.png").read_bytes().startswith(PNG_SIGNATURE)


def test_quick_cpu_models_cases_report_flops_throughput_and_peak_memory(tmp_path):
    # With Dynamo disabled the torch.compile(fused) peer runs eagerly: CI is
    # spared a minute of compiling, and the rows are made as in a real run.
    data = run_tiny(
        "cpu",
        r"models: (decoder step fwd GRU|training step|greedy decode .* V=34)",
        tmp_path,
        TORCHDYNAMO_DISABLE="1",
    )
    rows = {(row["label"], row["impl"]): row for row in data["rows"]}
    labels = ("decoder step", "training step", "training step, input feeding", "greedy decode")
    peers = ("fused", "torch.nn", "torch.compile(fused)")
    loops = ("greedy decode", "training step, input feeding")  # fused in C++ and in Python
    assert set(rows) == {(label, impl) for label in labels for impl in peers} | {
        (label, "fused, Python loop") for label in loops
    } | {("greedy decode", "torch.compile(torch.nn)")}
    assert all("median_ms" in row for row in rows.values())

    # The reverse-words model; one decoder step costs a pass of one step less the
    # encoder and the keys' projection, which a pass of no steps has too.
    step = rows["decoder step", "fused"]
    config = Seq2SeqConfig(40, 40, embedding_size=128, hidden_size=256, cell="gru")
    assert (
        step["flops"]
        == count_flops(config, 12, 1, 64)["total"] - count_flops(config, 12, 0, 64)["total"]
    )

    training = rows["training step", "fused"]
    assert training["throughput_unit"] == "tokens/s" and 64 * 4 <= training["items"] <= 64 * 11
    assert training["throughput"] == pytest.approx(training["items"] / training["median_ms"] * 1e3)
    assert training["peak_memory_mib"] > 0  # activations and gradients, freed by each step's end
    greedy = rows["greedy decode", "torch.nn"]
    assert greedy["items"] == 64 and greedy["throughput_unit"] == "sentences/s"

    markdown = next(tmp_path.glob("*-quick-partial.md")).read_text()
    assert "fused throughput" in markdown and f"{training['throughput']:,.1f} tokens/s" in markdown


@requires_cuda
def test_quick_cuda_run_has_reduce_overhead_peer_gpu_facts_and_memory(tmp_path):
    data = run_tiny("cuda", r"Bahdanau fwd B", tmp_path)
    assert data["device"]["type"] == "cuda" and "driver" in data["device"]
    assert set(data["ceilings"]["gemm"]) == {"float32", "bfloat16"}
    impls = {row["impl"] for row in data["rows"]}
    assert {"fused", "eager", "torch.compile", "torch.compile, reduce-overhead"} <= impls
    fused = [row for row in data["rows"] if row["impl"] == "fused"]
    assert all(row["peak_memory_mib"] >= 0 and row["n"] >= 20 for row in fused)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_run_without_gpu_fails_clearly(tmp_path):
    result = run_module("benchmarks.run", "--device", "cuda", "--quick", "--out", str(tmp_path))
    assert result.returncode != 0
    assert "no CUDA GPU" in result.stderr


def test_layer_cases_time_every_cell_in_three_modes():
    """Inference (no grad), a training forward (the graph recorded) and
    forward+backward, for the LSTM, the GRU and the Elman RNN."""
    script = """
import json
import torch
from benchmarks import cases_layers
from benchmarks.calls import timed_call

w = torch.randn(3, requires_grad=True)
print(json.dumps(dict(
    cases=sorted({(p["label"], p["mode"]) for p, _ in cases_layers.cases("cpu", quick=True)}),
    records={mode: timed_call(mode, lambda: w * 2)().requires_grad
             for mode in ("fwd", "fwd (autograd)")},
)))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.splitlines()[-1])
    modes = ("fwd", "fwd (autograd)", "fwd+bwd")
    assert found["cases"] == sorted(
        [label, mode] for label in ("GRU", "LSTM", "RNN") for mode in modes
    )
    assert found["records"] == {"fwd": False, "fwd (autograd)": True}


ONNXRUNTIME_PEERS_SCRIPT = """
import json
import numpy as np
import torch
from benchmarks import cases_layers, cases_models, model_impls
from seq2seq_ext.models import Seq2SeqConfig

def max_differences(impls):
    outputs = {name: fn() for name, fn in impls.items()}
    ours = outputs["fused"]
    ours = (ours[0] if isinstance(ours, tuple) else ours).numpy()
    return {
        name: float(np.abs(output[0] - ours).max())
        for name, output in outputs.items()
        if name.startswith("onnxruntime")
    }

found = {}
for layer in cases_layers.LAYERS:
    found[layer] = max_differences(
        cases_layers._make_impls(layer, 2, 3, 8, "fwd", torch.float32, "cpu")
    )
    found[layer + " fwd+bwd"] = sorted(
        cases_layers._make_impls(layer, 2, 3, 8, "fwd+bwd", torch.float32, "cpu")
    )
config = Seq2SeqConfig(30, 30, embedding_size=8, hidden_size=8, num_layers=2, bidirectional=True)
batch = cases_models._random_batch(config, 3, 5, 4)
found["encoder"] = max_differences(model_impls.encoder_impls(config, batch, "cpu"))
print(json.dumps(found))
"""


def test_onnxruntime_peers_run_the_layers_and_the_encoder_as_ours():
    """At a tiny size: onnxruntime running the exported torch.nn layer and the
    exported Fused one (and the encoder) computes what the Fused module does;
    it is a peer for inference only."""
    pytest.importorskip("onnxruntime")
    result = subprocess.run(
        [sys.executable, "-c", ONNXRUNTIME_PEERS_SCRIPT],
        cwd=ROOT,
        env={**os.environ, "TORCHDYNAMO_DISABLE": "1"},  # the compiled peers run eagerly
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.splitlines()[-1])
    peers = {"onnxruntime(torch.nn)", "onnxruntime(fused)"}
    for case in ("LSTM", "GRU", "RNN", "encoder"):
        assert set(found[case]) == peers
        assert max(found[case].values()) < 1e-5, (case, found[case])
        if case != "encoder":
            assert not peers & set(found[case + " fwd+bwd"])


WITHOUT_ONNXRUNTIME_SCRIPT = """
import sys

class Missing:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "onnxruntime":
            raise ImportError(name)

sys.meta_path.insert(0, Missing())
import torch
from benchmarks import peers, report
status = peers.onnxruntime_status()
print(status["skipped"])
print(peers.onnxruntime_peers({"p": torch.nn.GRU(4, 4)}, (torch.randn(2, 3, 4),), "cpu", "fwd"))
print(report._facts(dict(device=dict(type="cpu"), date="d", torch="t", threads=2, quick=False,
                         only=None, onnxruntime=status)))
"""


def test_without_onnxruntime_its_peers_are_skipped_with_a_note():
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_ONNXRUNTIME_SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    skipped, peers, facts = result.stdout.splitlines()[-3:]
    assert skipped.startswith("onnxruntime not installed (pip install onnxruntime")
    assert peers == "{}"
    assert facts.endswith(f"2 CPU threads, no onnxruntime peers: {skipped}.")


def test_a_failing_peer_is_reported_with_its_error(tmp_path):
    script = """
import json
from benchmarks.timing import measure_interleaved

def broken():
    raise RuntimeError("this peer cannot run")

print(json.dumps(measure_interleaved({"fused": lambda: None, "broken": broken}, "cpu", warmup=1, repeats=3)))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout.splitlines()[-1])
    assert stats["fused"]["n"] == 3
    assert stats["broken"] == {"error": "RuntimeError: this peer cannot run"}


@pytest.mark.parametrize("mode", ["fwd", "fwd (autograd)", "fwd+bwd"])
def test_a_peer_that_runs_alone_is_timed_after_the_rounds(mode):
    """onnxruntime's peers (runs_alone) are timed in a block of their own calls,
    after the rounds of the others, which never follow one of theirs: in each
    mode, through the call the cases time (calls.timed_call). Were the mark
    lost, fused ran right after onnxruntime's spinning threads: 3x slower."""
    from benchmarks.calls import timed_call
    from benchmarks.timing import measure_interleaved, runs_alone

    calls = []

    def call(name):
        calls.append(name)
        return torch.zeros(1, requires_grad=True)

    fns = {
        "fused": timed_call(mode, lambda: call("fused")),
        "alone": timed_call(mode, runs_alone(lambda: call("alone"))),
        "torch.nn": timed_call(mode, lambda: call("torch.nn")),
    }
    stats = measure_interleaved(fns, "cpu", warmup=1, repeats=3)
    assert list(stats) == ["fused", "alone", "torch.nn"]
    assert stats["alone"]["n"] == 3
    first_alone = calls.index("alone")
    assert set(calls[first_alone:]) == {"alone"}, calls
    assert calls[:first_alone].count("fused") == calls[:first_alone].count("torch.nn") > 3


FAILING_FUSED_SCRIPT = """
import sys
from benchmarks import run

def broken():
    raise RuntimeError("kernel exploded")

class FailingSuite:  # what benchmarks.run reads of a suite module
    SUITE = "fake"

    @staticmethod
    def cases(device, quick):
        params = dict(label="Broken", shape="B=1", mode="fwd", dtype="float32", flops=1, bytes=1)
        yield params, lambda: {"fused": broken, "peer": lambda: None}

run.SUITES = (FailingSuite,)
run.main(["--quick", "--out", sys.argv[1]])
"""


def test_a_failing_fused_row_fails_the_run(tmp_path):
    """A peer may fail and be listed with its error; the implementation under
    test may not: the run writes its results, then exits non-zero naming it."""
    result = subprocess.run(
        [sys.executable, "-c", FAILING_FUSED_SCRIPT, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    assert result.stderr.strip().endswith(
        "benchmarks.run: fused failed in 1 case(s): Broken fwd B=1: RuntimeError: kernel exploded"
    )
    data = json.loads(next(tmp_path.glob("*-quick.json")).read_text())
    assert {row["impl"]: "error" in row for row in data["rows"]} == {"fused": True, "peer": False}


def results_file(path, rows, device="AMD EPYC", threads=2):
    """A results JSON with what compare.py reads; rows are (label, impl, p20, median, p80)."""
    path.write_text(
        json.dumps(
            dict(
                device=dict(name=device),
                threads=threads,
                torch="2.14.1",
                rows=[
                    dict(
                        suite="cells",
                        label=label,
                        mode="fwd",
                        shape="B=1",
                        dtype="float32",
                        impl=impl,
                        p20_ms=p20,
                        median_ms=median,
                        p80_ms=p80,
                    )
                    for label, impl, p20, median, p80 in rows
                ],
            )
        )
    )
    return str(path)


def test_compare_flags_a_regression_beyond_threshold_and_noise(tmp_path):
    old = results_file(
        tmp_path / "old.json",
        [
            ("slower", "fused", 9.5, 10, 10.5),
            ("noisy", "fused", 8, 10, 12),
            ("slightly slower", "fused", 9.9, 10, 10.1),
            ("faster", "fused", 9.5, 10, 10.5),
        ],
    )
    new = results_file(
        tmp_path / "new.json",
        [
            ("slower", "fused", 12.5, 13, 13.5),  # +30%, intervals apart: a regression
            ("noisy", "fused", 9, 11.5, 14),  # +15%, but the intervals overlap: noise
            ("slightly slower", "fused", 10.4, 10.5, 10.6),  # intervals apart, but +5% < 10%
            ("faster", "fused", 6.5, 7, 7.5),
            ("new case", "fused", 1, 1, 1),  # not in OLD: not compared
        ],
    )
    result = run_module("benchmarks.compare", old, new)
    assert result.returncode == 1, result.stderr
    lines = {
        line.split()[1]: line for line in result.stdout.splitlines() if line.startswith("cells:")
    }
    assert set(lines) == {"slower", "noisy", "slightly", "faster"}
    assert lines["slower"].endswith("1.30  REGRESSION")
    assert lines["faster"].endswith("improved")
    assert "REGRESSION" not in lines["noisy"] + lines["slightly"]
    assert "1 regression(s) among 4 rows" in result.stdout
    assert "warning" not in result.stderr

    assert run_module("benchmarks.compare", old, new, "--no-fail").returncode == 0
    assert run_module("benchmarks.compare", old, new, "--threshold", "0.5").returncode == 0


def test_compare_passes_noise_flags_a_failure_and_warns_of_another_machine(tmp_path):
    old = results_file(
        tmp_path / "old.json", [("step", "fused", 9, 10, 11), ("step", "peer", 9, 10, 11)]
    )
    noise = results_file(
        tmp_path / "noise.json", [("step", "fused", 9.5, 10.5, 11.5), ("step", "peer", 9, 10, 11)]
    )
    result = run_module("benchmarks.compare", old, noise)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 regression(s) among 2 rows" in result.stdout

    failed = tmp_path / "failed.json"
    data = json.loads(Path(noise).read_text())
    data["rows"][1] = {
        key: data["rows"][1][key] for key in ("suite", "label", "mode", "shape", "dtype", "impl")
    }
    data["rows"][1]["error"] = "RuntimeError: boom"
    data.update(device=dict(name="Another CPU"), threads=8)
    failed.write_text(json.dumps(data))
    result = run_module("benchmarks.compare", old, str(failed))
    assert result.returncode == 1
    assert "failed" in result.stdout and "1 regression(s)" in result.stdout
    assert "device" in result.stderr and "thread count" in result.stderr


def _results_json(path, rows, **run):
    """A results file as benchmarks.run writes it, with these rows."""
    results = dict(
        device=dict(name="X", type="cpu"),
        date="2026-01-02",
        torch="2.9",
        threads=2,
        quick=False,
        only=None,
        rows=rows,
    )
    path.write_text(json.dumps({**results, **run}))


def test_benchmark_page_comes_from_full_and_partial_results_not_quick(tmp_path):
    results = tmp_path / "benchmarks" / "results"
    results.mkdir(parents=True)
    (results / "cpu-x-2t.md").write_text("# Benchmarks on X\n\n## cells\n\n| a |\n")
    (results / "cpu-x-2t-speedup.png").write_bytes(PNG_SIGNATURE)
    (results / "cpu-x-2t-ceiling.png").write_bytes(PNG_SIGNATURE)
    (results / "cpu-x-2t-quick.md").write_text("# quick, must not appear\n")
    (results / "cpu-x-2t-quick-speedup.png").write_bytes(PNG_SIGNATURE)
    (results / "cpu-x-2t-partial.md").write_text("# Benchmarks on X, only some cases\n")
    (tmp_path / "docs").mkdir()
    page = tmp_path / "docs" / "benchmarks.md"
    page.write_text("intro\n<!-- benchmarks:start -->\nold\n<!-- benchmarks:end -->\nrest\n")
    readme = tmp_path / "README.md"
    readme.write_text(
        "intro\n<!-- benchmarks:headline:start -->\nold\n<!-- benchmarks:headline:end -->\nrest\n"
    )
    result = run_module(
        "benchmarks.render_readme",
        "--page",
        str(page),
        "--readme",
        str(readme),
        "--results",
        str(results),
    )
    assert result.returncode == 0, result.stderr
    text = page.read_text()
    assert text.startswith("intro\n") and text.endswith("rest\n") and "old" not in text
    assert "## Benchmarks on X" in text and "### cells" in text  # one level below the title
    assert "quick" not in text and "(from `../benchmarks/results/cpu-x-2t.md`)" in text
    assert "## Benchmarks on X, only some cases" in text
    # The charts, linked relative to the page (a partial run without charts gets none).
    assert "](../benchmarks/results/cpu-x-2t-speedup.png)" in text
    assert "](../benchmarks/results/cpu-x-2t-ceiling.png)" in text
    assert text.count("![") == 2
    # No .json results: the README says so between its markers.
    text = readme.read_text()
    assert text == (
        "intro\n<!-- benchmarks:headline:start -->\nNo full benchmark run committed yet.\n"
        "<!-- benchmarks:headline:end -->\nrest\n"
    )


def test_readme_headline_rows_come_from_the_full_runs_results(tmp_path):
    """The README's rows are HEADLINES' cases of each full run, formatted as the
    page's tables; a case the run lacks is left out with a note; --quick and
    --only runs give none."""

    def python(script, *args):
        result = subprocess.run(
            [sys.executable, "-c", script, *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        return result

    headlines = json.loads(
        python(
            "import json; from benchmarks.render_readme import HEADLINES;"
            " print(json.dumps(HEADLINES))"
        ).stdout
    )
    suite, label, shape, mode, peer = headlines[0]
    case = dict(suite=suite, label=label, shape=shape, mode=mode, dtype="float32")
    rows = [
        dict(case, impl="fused", median_ms=1.23456, speedup_over={peer: 2.0, "other": 3.0}),
        dict(case, impl=peer, median_ms=2.46912),
        dict(case, impl="other", median_ms=3.7),
    ]
    results = tmp_path / "results"
    results.mkdir()
    _results_json(results / "cpu-x-2t.json", rows)
    _results_json(results / "cpu-x-2t-quick.json", rows, quick=True, date="quick")
    _results_json(results / "cpu-x-2t-partial.json", rows, only="LSTM", date="partial")
    result = python(
        "import sys; from pathlib import Path; from benchmarks.render_readme import"
        " headline_section; print(headline_section(Path(sys.argv[1]), Path(sys.argv[1]).parent))",
        str(results),
    )
    assert result.stdout.splitlines() == [
        "X, 2026-01-02, torch 2.9, 2 CPU threads (from `results/cpu-x-2t.json`):",
        "",
        "| case | shape | mode | fused ms | peer | peer ms | fused speed-up over the peer |",
        "|---|---|---|---:|---|---:|---:|",
        f"| {label} | {shape} | {mode} | 1.235 | {peer} | 2.469 | 2.00x |",
    ]
    assert len(headlines) > 1 and result.stderr.count("left out") == len(headlines) - 1


def test_committed_pages_are_rendered_from_the_committed_results():
    """docs/benchmarks.md and the README's headline rows are what
    `python -m benchmarks.render_readme` makes of benchmarks/results/: no number
    typed by hand, none left stale."""
    script = """
from benchmarks.render_readme import (END, HEADLINE_END, HEADLINE_START, RESULTS, ROOT, START,
                                      headline_section, performance_section)

def block(path, start, end):
    return path.read_text().split(start, 1)[1].split(end, 1)[0]

assert block(ROOT / "docs" / "benchmarks.md", START, END) == (
    "\\n" + performance_section(RESULTS, ROOT / "docs") + "\\n"
), "docs/benchmarks.md"
assert block(ROOT / "README.md", HEADLINE_START, HEADLINE_END) == (
    "\\n" + headline_section(RESULTS, ROOT) + "\\n"
), "README.md"
"""
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, (
        result.stderr[-2000:] + "\nrun python -m benchmarks.render_readme"
    )


def test_a_peer_of_some_cases_only_gets_dashes_elsewhere():
    """quantize_dynamic times the one-sentence greedy decode only: the suite's
    table has its column, with '-' in the other cases' rows."""
    script = """
from benchmarks.report import _suite_table

def row(label, impl, ms, **extra):
    return dict(label=label, shape="s", dtype="float32", mode="fwd", impl=impl, median_ms=ms,
                n=3, gflops=1.0, fraction_of_ceiling=0.5, bound="compute",
                peak_memory_mib=1.0, **extra)

rows = [row("a", "fused", 1.0, speedup_over={"torch.nn": 2.0}), row("a", "torch.nn", 2.0),
        row("b", "fused", 1.0, speedup_over={"torch.nn": 2.0, "int8": 0.5}),
        row("b", "torch.nn", 2.0), row("b", "int8", 0.5)]
print("\\n".join(_suite_table("models", rows)))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    table = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| case | shape | dtype | mode | fused ms | torch.nn ms | int8 ms |")
    assert table[1].startswith("| a | s | float32 | fwd | 1.000 | 2.000 | - | 2.00x | - |")
    assert table[2].startswith("| b | s | float32 | fwd | 1.000 | 2.000 | 0.500 | 2.00x | 0.50x |")
