// Weights in reduced precision (Seq2Seq.for_inference, decoding only): a
// matrix W (N, K) stored bfloat16, or int8 with a float32 scale per row (per
// output feature: W[n, k] ~ scale[n] * q[n, k]), multiplied with float32 rows
// by CPU kernels that widen the weights to float32 as they read them
// (cpu/reduced_dot.h, cpu/reduced_linear.cpp): the sums are float32, the
// bytes read a half or a quarter.
#pragma once

#include <ATen/ops/addmm.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/mm.h>

#include "op_types.h"

namespace seq2seq_ext {

// Whether `weight` is reduced for rows like `like`: int8, or bfloat16 against
// float32 rows (a bfloat16 model's weights, against bfloat16 rows, are not).
inline bool is_reduced(const Tensor& weight, const Tensor& like) {
  const auto dtype = weight.scalar_type();
  return dtype == at::kChar || (dtype == at::kBFloat16 && like.scalar_type() == at::kFloat);
}

// Checks a reduced matrix of `shape` (N, K) and its scale (int8: (N,)
// float32, bfloat16: none), for rows on `like`'s device (the CPU) in float32.
void check_reduced(const char* op, const char* name, const Tensor& weight, const Tensor& scale,
                   at::IntArrayRef shape, const Tensor& like);

// y[r, j] = (x[r] . W[first + j]) * scale[first + j] (+ bias[first + j])
// (+ the y there, accumulate) for j < count and every row r of x (contiguous
// float32); y has leading dimension ld_y, bias may be null. W (contiguous) is
// reduced, or float32 (no scale): the same kernel then reads a float matrix
// once for a few rows of x. On the calling thread: the caller shares the work
// out.
void reduced_dot_rows(const Tensor& weight, const Tensor& scale, int64_t first, int64_t count,
                      const Tensor& x, const float* bias, float* y, int64_t ld_y, bool accumulate);

// out (rows, N) = x (rows, K) W^T * scale (+ bias), the rows of W shared among
// the threads. The arguments checked by the caller.
void reduced_linear_out(const Tensor& out, const Tensor& x, const Tensor& weight,
                        const Tensor& scale, const Tensor& bias);

// The op seq2seq_ext::reduced_linear: input (..., K) float32 on the CPU ->
// (..., N), checked.
Tensor reduced_linear(const Tensor& input, const Tensor& weight, const OptTensor& scale,
                      const OptTensor& bias);

// x W^T (+ bias) for any weight, reduced or float: the decoder step's GEMMs
// (decoding/decoder_step.h). Writes `out` when given.
inline Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& scale,
                     const Tensor& bias = {}, Tensor out = {}) {
  if (!out.defined()) out = at::empty({x.size(0), weight.size(0)}, x.options());
  if (is_reduced(weight, x)) {
    reduced_linear_out(out, x.contiguous(), weight, scale, bias);
  } else if (bias.defined()) {
    at::addmm_out(out, bias, x, weight.t());
  } else {
    at::mm_out(out, x, weight.t());
  }
  return out;
}

}  // namespace seq2seq_ext
