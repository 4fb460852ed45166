#!/usr/bin/env bash
# Checks the code style as CI does: ruff (lint and format) on the Python code,
# clang-format on the C++ and CUDA code. With --fix, formats in place instead.
#   usage: scripts/lint.sh [--fix]
set -euo pipefail
cd "$(dirname "$0")/.."
cpp_files=$(git ls-files 'csrc/*.h' 'csrc/*.cpp' 'csrc/*.cu' 'cpp_example/*.cpp')
if [[ "${1:-}" == "--fix" ]]; then
  ruff check --fix .
  ruff format .
  clang-format -i $cpp_files
else
  ruff check .
  ruff format --check .
  clang-format --dry-run --Werror $cpp_files
fi
echo "lint: ok"
