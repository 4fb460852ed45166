// The dot products of a reduced-precision matrix-vector (or few-row) product:
// y[r, n] = dot(x[r, :], W[n, :]) with W stored bfloat16, or int8 (times a
// per-row scale), x float32, the sums in float32. Float32 weights take the
// same kernel where a few rows read a large matrix once (the decoding ops'
// output layer, decoding/cpu/top_log_probs.cpp).
//
// Decoding one sentence reads every weight once per step: the weights' bytes
// are the whole cost. The kernel (reduced_dot_kernel.h) widens each weight row
// to float32 a vector at a time (int8: sign-extend and convert; bfloat16: the
// top half of a float32; float32: a load) and multiplies it with the same
// columns of every row of x. It is compiled once per instruction set, each in its own file:
// portable C++ (reduced_dot_portable.cpp), AVX2 with FMA and AVX-512
// (reduced_dot_avx2.cpp, reduced_dot_avx512.cpp); dot_rows runs the best the
// CPU has (isa.h). The copies with FMA round differently from the portable
// one, within float32's rounding of a dot product.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

#include "isa.h"

namespace seq2seq_ext::reduced {

// For every row n in [0, count) of W (count rows of K weights, contiguous) and
// every row r < rows of x (leading dimension ld_x): y[r * ld_y + n] =
// dot(x[r], W[n]) * scale[n] (+ bias[n]) (+ the y there, accumulate). scale
// and bias may be null.
template <class Weight>
struct DotRows {
  const Weight* w;
  const float* scale;
  const float* bias;
  int64_t count, K;
  const float* x;
  int64_t rows, ld_x;
  float* y;
  int64_t ld_y;
  bool accumulate;
};

// Weights are int8, the bits of bfloat16, or float32.
void dot_rows_portable(const DotRows<int8_t>& job);
void dot_rows_portable(const DotRows<uint16_t>& job);
void dot_rows_portable(const DotRows<float>& job);
#if SEQ2SEQ_X86_64
void dot_rows_avx2(const DotRows<int8_t>& job);
void dot_rows_avx2(const DotRows<uint16_t>& job);
void dot_rows_avx2(const DotRows<float>& job);
void dot_rows_avx512(const DotRows<int8_t>& job);
void dot_rows_avx512(const DotRows<uint16_t>& job);
void dot_rows_avx512(const DotRows<float>& job);
#endif

template <class Weight>
void dot_rows(const DotRows<Weight>& job) {
#if SEQ2SEQ_X86_64
  switch (best_cpu_isa()) {
    case CpuIsa::Avx512:
      return dot_rows_avx512(job);
    case CpuIsa::Avx2Fma:
      return dot_rows_avx2(job);
    case CpuIsa::Baseline:
      break;
  }
#endif
  dot_rows_portable(job);
}

}  // namespace seq2seq_ext::reduced
