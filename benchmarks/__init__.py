"""Benchmarks for seq2seq_ext: ``python -m benchmarks.run``."""
