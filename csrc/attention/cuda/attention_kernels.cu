// CUDA kernels of the attention ops. One thread block per row (a grid-stride
// loop over rows, so any batch fits): a query row in the forwards, a batch row
// with its T queries in the Bahdanau backward (they sum into the same key and
// value gradients); inside a row, the block loops over S, A and D in strides of
// its threads, so no size has an upper limit. Per-query scores live in a global
// scratch buffer in the accumulation type (B x T x S values, read back from L2),
// never in shared memory, whose size would cap S. Reductions: warp shuffles,
// then one value per warp in shared memory.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/cuda/CUDAContext.h>
#include <ATen/ops/empty.h>
#include <c10/cuda/CUDAException.h>

#include <algorithm>
#include <limits>

#include "attention/attention_kernels.h"
#include "core/cell_math.h"

namespace seq2seq_ext {

namespace {

// Every kernel here is launched with exactly kThreads threads per block (and
// says so with __launch_bounds__): the block reductions and the warp-per-position
// loops count on kWarps warps.
constexpr int kThreads = 256;
constexpr int kWarpSize = 32;
constexpr int kWarps = kThreads / kWarpSize;
static_assert(kThreads % kWarpSize == 0, "a block is a whole number of warps");
static_assert(kThreads <= 1024, "at most 1024 threads per block");
constexpr unsigned kFullWarp = 0xffffffffu;

template <typename T>
__device__ __forceinline__ T warp_sum(T x) {
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
    x += __shfl_xor_sync(kFullWarp, x, offset);
  }
  return x;
}

template <typename T>
__device__ __forceinline__ T warp_max(T x) {
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
    x = std::max(x, __shfl_xor_sync(kFullWarp, x, offset));
  }
  return x;
}

// Sum (or max) over the block; every thread gets the result. `shared` holds
// one partial per warp.
template <bool is_max, typename T>
__device__ T block_reduce(T x, T* shared) {
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  x = is_max ? warp_max(x) : warp_sum(x);
  __syncthreads();  // the previous reduction has read `shared`
  if (lane == 0) shared[warp] = x;
  __syncthreads();
  x = shared[0];
  for (int w = 1; w < kWarps; ++w) x = is_max ? std::max(x, shared[w]) : x + shared[w];
  return x;
}

__device__ __forceinline__ bool keep(const bool* mask, int64_t s) {
  return mask == nullptr || mask[s];
}

// In place, by the whole block: x[s] <- softmax over the kept positions (max
// subtracted first); masked positions and rows that keep none get 0.
template <typename acc_t>
__device__ void softmax_row(acc_t* x, const bool* mask, int64_t S, acc_t* shared) {
  constexpr acc_t kMinusInf = -std::numeric_limits<acc_t>::infinity();
  acc_t max = kMinusInf;
  for (int64_t s = threadIdx.x; s < S; s += blockDim.x) {
    if (keep(mask, s)) max = std::max(max, x[s]);
  }
  max = block_reduce<true>(max, shared);
  acc_t sum = 0;
  for (int64_t s = threadIdx.x; s < S; s += blockDim.x) {
    x[s] = keep(mask, s) && max != kMinusInf ? exp_(x[s] - max) : acc_t(0);
    sum += x[s];
  }
  sum = block_reduce<false>(sum, shared);
  const acc_t inverse = sum > acc_t(0) ? acc_t(1) / sum : acc_t(0);
  for (int64_t s = threadIdx.x; s < S; s += blockDim.x) x[s] *= inverse;
  __syncthreads();  // other threads read x next
}

int blocks_for(int64_t rows) {
  const int64_t max_blocks = at::cuda::getCurrentDeviceProperties()->maxGridSize[0];
  return static_cast<int>(std::min(rows, max_blocks));
}

Tensor scratch_like(const Tensor& t, int64_t rows, int64_t S) {
  return at::empty({rows, S}, t.options().dtype(at::toOpMathType(t.scalar_type())));
}

const bool* mask_data(const Tensor& mask) {
  return mask.defined() ? mask.const_data_ptr<bool>() : nullptr;
}

// ---------------------------------------------------------------- masked softmax

template <typename scalar_t, typename acc_t>
__global__ void __launch_bounds__(kThreads)
    softmax_forward_kernel(const scalar_t* scores, const bool* mask, acc_t* scratch,
                           scalar_t* weights, int64_t rows, int64_t S) {
  __shared__ acc_t shared[kWarps];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    acc_t* x = scratch + r * S;
    for (int64_t s = threadIdx.x; s < S; s += blockDim.x) {
      x[s] = static_cast<acc_t>(scores[r * S + s]);
    }
    softmax_row(x, mask ? mask + r * S : nullptr, S, shared);
    for (int64_t s = threadIdx.x; s < S; s += blockDim.x) {
      weights[r * S + s] = static_cast<scalar_t>(x[s]);
    }
  }
}

// dscore = w * (dw - sum_s w dw)
template <typename scalar_t, typename acc_t>
__global__ void __launch_bounds__(kThreads)
    softmax_backward_kernel(const scalar_t* grad, const scalar_t* weights, scalar_t* grad_scores,
                            int64_t rows, int64_t S) {
  __shared__ acc_t shared[kWarps];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const scalar_t *w = weights + r * S, *dw = grad + r * S;
    acc_t total = 0;
    for (int64_t s = threadIdx.x; s < S; s += blockDim.x) total += acc_t(w[s]) * acc_t(dw[s]);
    total = block_reduce<false>(total, shared);
    for (int64_t s = threadIdx.x; s < S; s += blockDim.x) {
      grad_scores[r * S + s] = static_cast<scalar_t>(acc_t(w[s]) * (acc_t(dw[s]) - total));
    }
  }
}

// ---------------------------------------------------------------- Bahdanau

template <typename scalar_t>
struct BahdanauArgs {
  using acc_t = at::opmath_type<scalar_t>;
  const scalar_t *query_proj, *keys_proj, *values, *v;
  int64_t B, T, S, A, D;
  acc_t* scratch;  // (B, T, S): scores, then weights; in the backward dw, then dscore
};

template <typename scalar_t>
BahdanauArgs<scalar_t> bahdanau_args(const Tensor& query_proj, const Tensor& keys_proj,
                                     const Tensor& values, const Tensor& v, const Tensor& scratch) {
  return {.query_proj = query_proj.const_data_ptr<scalar_t>(),
          .keys_proj = keys_proj.const_data_ptr<scalar_t>(),
          .values = values.const_data_ptr<scalar_t>(),
          .v = v.const_data_ptr<scalar_t>(),
          .B = values.size(0),
          .T = query_proj.size(1),
          .S = values.size(1),
          .A = v.size(0),
          .D = values.size(2),
          .scratch = scratch.mutable_data_ptr<at::opmath_type<scalar_t>>()};
}

template <typename scalar_t>
__global__ void __launch_bounds__(kThreads)
    bahdanau_forward_kernel(const BahdanauArgs<scalar_t> p, const bool* mask, scalar_t* context,
                            scalar_t* weights) {
  using acc_t = at::opmath_type<scalar_t>;
  __shared__ acc_t shared[kWarps];
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  const int64_t S = p.S, A = p.A, D = p.D;
  for (int64_t r = blockIdx.x; r < p.B * p.T; r += gridDim.x) {
    const int64_t b = r / p.T;  // query row r = (b, t) attends to batch row b's memory
    acc_t* score = p.scratch + r * S;
    const bool* row_mask = mask ? mask + b * S : nullptr;
    const scalar_t* q = p.query_proj + r * A;
    // score[s] = v . tanh(q + k[s]): one warp per position, its lanes over A.
    for (int64_t s = warp; s < S; s += kWarps) {
      acc_t dot = 0;
      if (keep(row_mask, s)) {
        const scalar_t* k = p.keys_proj + (b * S + s) * A;
        for (int64_t a = lane; a < A; a += kWarpSize) {
          dot += acc_t(p.v[a]) * tanh_(acc_t(q[a]) + acc_t(k[a]));
        }
      }
      dot = warp_sum(dot);
      if (lane == 0) score[s] = dot;
    }
    __syncthreads();
    softmax_row(score, row_mask, S, shared);
    for (int64_t s = threadIdx.x; s < S; s += blockDim.x) {
      weights[r * S + s] = static_cast<scalar_t>(score[s]);
    }
    // context[d] = sum_s w[s] values[s, d]: threads over d (coalesced loads).
    // Zero weights (masked positions) add nothing, whatever their values hold
    // (padding may be NaN or Inf: 0 * NaN would be NaN), as on the CPU.
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) {
      acc_t sum = 0;
      for (int64_t s = 0; s < S; ++s) {
        if (score[s] != acc_t(0)) sum += score[s] * acc_t(p.values[(b * S + s) * D + d]);
      }
      context[r * D + d] = static_cast<scalar_t>(sum);
    }
    __syncthreads();  // score is done with before the next row's reductions
  }
}

// See the CPU kernel for the formulas. want_scores / want_values: which
// gradients to write (BahdanauBackwardTensors says why flags). grad_keys_proj,
// grad_values and grad_v_rows are in the accumulation type.
template <typename scalar_t>
__global__ void __launch_bounds__(kThreads)
    bahdanau_backward_kernel(const BahdanauArgs<scalar_t> p, const scalar_t* grad_context,
                             const scalar_t* grad_weights, const scalar_t* weights,
                             bool want_scores, bool want_values, scalar_t* grad_query_proj,
                             at::opmath_type<scalar_t>* grad_keys_proj,
                             at::opmath_type<scalar_t>* grad_v_rows,
                             at::opmath_type<scalar_t>* grad_values) {
  using acc_t = at::opmath_type<scalar_t>;
  __shared__ acc_t shared[kWarps];
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  const int64_t T = p.T, S = p.S, A = p.A, D = p.D;
  for (int64_t b = blockIdx.x; b < p.B; b += gridDim.x) {
    const int64_t first = b * T, last = first + T;  // the row's query rows
    if (want_values) {                              // grad_values[s, d] = sum_t w[t, s] dc[t, d]
      for (int64_t i = threadIdx.x; i < S * D; i += blockDim.x) {
        acc_t sum = 0;
        for (int64_t r = first; r < last; ++r) {
          const acc_t w = weights[r * S + i / D];
          if (w != acc_t(0)) sum += w * acc_t(grad_context[r * D + i % D]);
        }
        grad_values[b * S * D + i] = sum;
      }
    }
    if (!want_scores) continue;  // uniform across the block
    for (int64_t r = first; r < last; ++r) {
      const scalar_t* w = weights + r * S;
      const scalar_t* dc = grad_context + r * D;
      // dw[s] = grad_weights[s] + dc . values[s]: one warp per position, lanes over D.
      acc_t* dscore = p.scratch + r * S;
      for (int64_t s = warp; s < S; s += kWarps) {
        acc_t dot = 0;
        if (acc_t(w[s]) != acc_t(0)) {
          const scalar_t* value = p.values + (b * S + s) * D;
          for (int64_t d = lane; d < D; d += kWarpSize) dot += acc_t(dc[d]) * acc_t(value[d]);
        }
        dot = warp_sum(dot);
        if (lane == 0) dscore[s] = acc_t(grad_weights[r * S + s]) + dot;
      }
      __syncthreads();
      // Softmax backward: dscore = w (dw - sum_s w dw).
      acc_t total = 0;
      for (int64_t s = threadIdx.x; s < S; s += blockDim.x) total += acc_t(w[s]) * dscore[s];
      total = block_reduce<false>(total, shared);
      for (int64_t s = threadIdx.x; s < S; s += blockDim.x) {
        dscore[s] = acc_t(w[s]) * (dscore[s] - total);
      }
      __syncthreads();
    }
    // Through tanh, recomputed: one thread per a, looping over the queries and
    // s (coalesced over a); the thread owns column a of the row's key gradients.
    for (int64_t a = threadIdx.x; a < A; a += blockDim.x) {
      const acc_t va = p.v[a];
      acc_t gv = 0;
      for (int64_t s = 0; s < S; ++s) grad_keys_proj[(b * S + s) * A + a] = 0;
      for (int64_t r = first; r < last; ++r) {
        const acc_t q = p.query_proj[r * A + a];
        acc_t gq = 0;
        for (int64_t s = 0; s < S; ++s) {
          const acc_t ds = p.scratch[r * S + s];
          if (ds == acc_t(0)) continue;
          const int64_t i = (b * S + s) * A + a;
          const acc_t th = tanh_(q + acc_t(p.keys_proj[i]));
          const acc_t g = ds * va * (acc_t(1) - th * th);
          grad_keys_proj[i] += g;
          gq += g;
          gv += ds * th;
        }
        grad_query_proj[r * A + a] = static_cast<scalar_t>(gq);
      }
      grad_v_rows[b * A + a] = gv;
    }
    __syncthreads();  // dscore is done with before the next row's reductions
  }
}

}  // namespace

template <>
void AttentionKernels<c10::kCUDA>::masked_softmax_forward(const SoftmaxForwardTensors& t) {
  const int64_t S = t.scores.size(-1), rows = t.scores.numel() / S;
  const Tensor scratch = scratch_like(t.scores, rows, S);
  AT_DISPATCH_FLOATING_TYPES_AND2(
      at::kHalf, at::kBFloat16, t.scores.scalar_type(), "masked_softmax", [&] {
        using acc_t = at::opmath_type<scalar_t>;
        softmax_forward_kernel<scalar_t, acc_t>
            <<<blocks_for(rows), kThreads, 0, at::cuda::getCurrentCUDAStream()>>>(
                t.scores.const_data_ptr<scalar_t>(), mask_data(t.mask),
                scratch.mutable_data_ptr<acc_t>(), t.weights.mutable_data_ptr<scalar_t>(), rows, S);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
      });
}

template <>
void AttentionKernels<c10::kCUDA>::masked_softmax_backward(const SoftmaxBackwardTensors& t) {
  const int64_t S = t.weights.size(-1), rows = t.weights.numel() / S;
  AT_DISPATCH_FLOATING_TYPES_AND2(
      at::kHalf, at::kBFloat16, t.weights.scalar_type(), "masked_softmax_backward", [&] {
        softmax_backward_kernel<scalar_t, at::opmath_type<scalar_t>>
            <<<blocks_for(rows), kThreads, 0, at::cuda::getCurrentCUDAStream()>>>(
                t.grad_weights.const_data_ptr<scalar_t>(), t.weights.const_data_ptr<scalar_t>(),
                t.grad_scores.mutable_data_ptr<scalar_t>(), rows, S);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
      });
}

template <>
void AttentionKernels<c10::kCUDA>::bahdanau_forward(const BahdanauForwardTensors& t) {
  const int64_t queries = t.query_proj.size(0) * t.query_proj.size(1), S = t.values.size(1);
  const Tensor scratch = scratch_like(t.values, queries, S);
  AT_DISPATCH_FLOATING_TYPES_AND2(
      at::kHalf, at::kBFloat16, t.values.scalar_type(), "bahdanau_attention", [&] {
        bahdanau_forward_kernel<scalar_t>
            <<<blocks_for(queries), kThreads, 0, at::cuda::getCurrentCUDAStream()>>>(
                bahdanau_args<scalar_t>(t.query_proj, t.keys_proj, t.values, t.v, scratch),
                mask_data(t.mask), t.context.mutable_data_ptr<scalar_t>(),
                t.weights.mutable_data_ptr<scalar_t>());
        C10_CUDA_KERNEL_LAUNCH_CHECK();
      });
}

template <>
void AttentionKernels<c10::kCUDA>::bahdanau_backward(const BahdanauBackwardTensors& t) {
  const int64_t B = t.values.size(0), S = t.values.size(1);
  const Tensor scratch = scratch_like(t.values, B * t.query_proj.size(1), S);
  AT_DISPATCH_FLOATING_TYPES_AND2(
      at::kHalf, at::kBFloat16, t.values.scalar_type(), "bahdanau_attention_backward", [&] {
        using acc_t = at::opmath_type<scalar_t>;
        const auto out = [](const Tensor& x) {
          return x.defined() ? x.mutable_data_ptr<scalar_t>() : nullptr;
        };
        const auto acc_out = [](const Tensor& x) {
          return x.defined() ? x.mutable_data_ptr<acc_t>() : nullptr;
        };
        bahdanau_backward_kernel<scalar_t>
            <<<blocks_for(B), kThreads, 0, at::cuda::getCurrentCUDAStream()>>>(
                bahdanau_args<scalar_t>(t.query_proj, t.keys_proj, t.values, t.v, scratch),
                t.grad_context.const_data_ptr<scalar_t>(),
                t.grad_weights.const_data_ptr<scalar_t>(), t.weights.const_data_ptr<scalar_t>(),
                t.want_scores, t.want_values, out(t.grad_query_proj), acc_out(t.grad_keys_proj),
                acc_out(t.grad_v_rows), acc_out(t.grad_values));
        C10_CUDA_KERNEL_LAUNCH_CHECK();
      });
}

}  // namespace seq2seq_ext
