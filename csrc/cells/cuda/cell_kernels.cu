// CUDA kernels of the cell ops: one thread per (batch row, hidden unit),
// grid-stride so any size fits, on the current stream.
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>

#include <algorithm>

#include "cells/unit_loop.h"

namespace seq2seq_ext {

template <class Unit>
__global__ void unit_kernel(const Unit unit, int64_t n, int64_t H) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < n;
       idx += stride) {
    unit(idx / H, idx % H);
  }
}

template <>
struct UnitLoop<c10::kCUDA> {
  template <class Unit>
  static void run(const Unit& unit, int64_t rows, int64_t H) {
    constexpr int kThreads = 256;
    const int64_t n = rows * H;
    if (n == 0) return;
    const int64_t blocks = std::min<int64_t>((n + kThreads - 1) / kThreads, 1 << 20);
    unit_kernel<<<blocks, kThreads, 0, at::cuda::getCurrentCUDAStream()>>>(unit, n, H);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  }
};

template struct CellKernels<c10::kCUDA>;

}  // namespace seq2seq_ext
