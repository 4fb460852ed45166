#!/usr/bin/env bash
# Configures and builds the CMake build (CMakeLists.txt) in BUILD_DIR against
# the torch of $PYTHON (default: python3 on PATH), then runs its tests.
#
#   scripts/build_cmake.sh BUILD_DIR [CMAKE_ARGS...]
#
# CMAKE_ARGS go to the configure step, e.g. -DSEQ2SEQ_EXT_WITH_CUDA=ON.
# Environment: PYTHON, CUDA_HOME (default /usr/local/cuda, else the nvcc on
# PATH), MAX_JOBS (parallel compile jobs, default: all cores).
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 BUILD_DIR [CMAKE_ARGS...]" >&2
  exit 2
fi
build_dir=$1
shift
source_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

python=$(command -v "${PYTHON:-python3}")
# Tools installed next to that python (ninja, cmake from pip) come first.
PATH="$(dirname "$python"):$PATH"

# torch's CMake prefix, and for a CUDA build of torch the libnvrtc its CMake
# asks for (the pip wheels ship it in site-packages/nvidia/cu*/lib).
read -r torch_prefix torch_cuda nvrtc < <("$python" - <<'EOF'
import glob, os, torch, torch.utils
site = os.path.dirname(os.path.dirname(torch.__file__))
nvrtc = sorted(glob.glob(os.path.join(site, "nvidia", "cu*", "lib", "libnvrtc.so.*[0-9]")))
print(torch.utils.cmake_prefix_path, torch.version.cuda or "-", nvrtc[0] if nvrtc else "-")
EOF
)

cmake_args=(-DCMAKE_PREFIX_PATH="$torch_prefix")
if [[ $torch_cuda != - ]]; then
  # torch's CMake needs the CUDA toolkit (nvcc) whenever torch is a CUDA build.
  cuda_home=${CUDA_HOME:-}
  if [[ -z $cuda_home && -x /usr/local/cuda/bin/nvcc ]]; then
    cuda_home=/usr/local/cuda
  elif [[ -z $cuda_home ]] && command -v nvcc >/dev/null; then
    cuda_home=$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")
  fi
  if [[ -z $cuda_home ]]; then
    echo "$0: torch is a CUDA $torch_cuda build, but no CUDA toolkit was found (set CUDA_HOME)" >&2
    exit 1
  fi
  cmake_args+=(
    -DCUDA_TOOLKIT_ROOT_DIR="$cuda_home"
    -DCUDAToolkit_ROOT="$cuda_home"
    -DCMAKE_CUDA_COMPILER="$cuda_home/bin/nvcc"
  )
  if [[ $nvrtc != - ]]; then
    cmake_args+=(-DCUDA_nvrtc_LIBRARY="$nvrtc")
  fi
fi
if command -v ninja >/dev/null; then
  cmake_args+=(-G Ninja)
fi

set -x
cmake -S "$source_dir" -B "$build_dir" "${cmake_args[@]}" "$@"
cmake --build "$build_dir" -j "${MAX_JOBS:-$(nproc)}"
ctest --test-dir "$build_dir" --output-on-failure
