"""The benchmark tools, run as a user runs them (python -m from the checkout):
the runner on a tiny configuration, and the README renderer."""
import json
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent


def run_module(module, *args):
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


def test_quick_cpu_run_writes_json_and_markdown(tmp_path):
    result = run_module("benchmarks.run", "--device", "cpu", "--quick", "--only", r"LSTM step fwd B",
                        "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    (json_file,) = tmp_path.glob("*-quick-partial.json")
    data = json.loads(json_file.read_text())
    assert data["backend"]["cpu_kernels"]
    rows = data["rows"]
    assert {row["impl"] for row in rows} == {"fused", "torch.nn"}
    fused = next(row for row in rows if row["impl"] == "fused")
    baseline = next(row for row in rows if row["impl"] == "torch.nn")
    assert fused["median_ms"] > 0 and fused["n"] == 20
    assert abs(fused["speedup_vs_torch_nn"] - baseline["median_ms"] / fused["median_ms"]) < 1e-12
    markdown = json_file.with_suffix(".md").read_text()
    assert f"{fused['speedup_vs_torch_nn']:.2f}x" in markdown


def test_cuda_run_without_gpu_fails_clearly(tmp_path):
    if torch.cuda.is_available():
        return
    result = run_module("benchmarks.run", "--device", "cuda", "--quick", "--out", str(tmp_path))
    assert result.returncode != 0
    assert "no CUDA GPU" in result.stderr


def test_readme_section_comes_from_full_and_partial_results_not_quick(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "cpu-x-2t.md").write_text("# Benchmarks on X\n\n## cells\n\n| a |\n")
    (results / "cpu-x-2t-quick.md").write_text("# quick, must not appear\n")
    (results / "cpu-x-2t-partial.md").write_text("# Benchmarks on X, only some cases\n")
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- benchmarks:start -->\nold\n<!-- benchmarks:end -->\nrest\n")
    result = run_module("benchmarks.render_readme", "--readme", str(readme), "--results", str(results))
    assert result.returncode == 0, result.stderr
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("rest\n") and "old" not in text
    assert "### Benchmarks on X" in text and "#### cells" in text
    assert "quick" not in text and "benchmarks/results/cpu-x-2t.md" in text
    assert "### Benchmarks on X, only some cases" in text
