"""Benchmarks for seq2seq_ext: ``python -m benchmarks.run``, then
``python -m benchmarks.render_readme``; ``python -m benchmarks.compare`` checks
two runs for regressions."""

OURS = "fused"  # the implementation under test in every case; the others are its peers
