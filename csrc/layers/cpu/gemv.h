// The recurrent GEMM of a step with one row (batch 1, or the last sequence of
// a packed batch): a matrix-vector product that reads W_hh as it is stored, so
// batch 1 needs no packed copy of the weights. Reading the weights is the whole
// cost, and these loops read each element once, in order.
//
// AVX2 with FMA only: the caller checks cpu_has_avx2_fma() (other CPUs take
// the packed GEMM path), and builds for other architectures leave it out.
#pragma once

#include "core/cpu/isa.h"

#if SEQ2SEQ_X86_64
#include <immintrin.h>

#include <cstdint>

namespace seq2seq_ext {

__attribute__((target("avx2,fma"))) inline float horizontal_sum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Forward, y = W a: y[r] (+)= dot(W[r, :K], a) for r < rows (W row-major with
// leading dimension ld_w). Four rows at a time share each load of `a`, and
// their four sums hide the FMA latency.
__attribute__((target("avx2,fma"))) inline void dot_rows(int64_t rows, int64_t K, const float* a,
                                                         const float* W, int64_t ld_w, float* y,
                                                         bool accumulate) {
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    const float* w[4] = {W + r * ld_w, W + (r + 1) * ld_w, W + (r + 2) * ld_w, W + (r + 3) * ld_w};
    __m256 sum[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    int64_t k = 0;
    for (; k + 8 <= K; k += 8) {
      const __m256 x = _mm256_loadu_ps(a + k);
      for (int i = 0; i < 4; ++i) sum[i] = _mm256_fmadd_ps(_mm256_loadu_ps(w[i] + k), x, sum[i]);
    }
    for (int i = 0; i < 4; ++i) {
      float total = horizontal_sum(sum[i]);
      for (int64_t tail = k; tail < K; ++tail) total += w[i][tail] * a[tail];
      y[r + i] = accumulate ? y[r + i] + total : total;
    }
  }
  for (; r < rows; ++r) {
    float total = 0;
    for (int64_t k = 0; k < K; ++k) total += W[r * ld_w + k] * a[k];
    y[r] = accumulate ? y[r] + total : total;
  }
}

// Backward, y = a W: y[:width] = sum over r < rows of a[r] W[r, :width] (W
// row-major with leading dimension ld_w; `width` columns of it). A full block
// of 32 columns keeps them in four vectors, two rows at a time in two sets.
__attribute__((target("avx2,fma"))) inline void combine_rows(int64_t rows, int64_t width,
                                                             const float* a, const float* W,
                                                             int64_t ld_w, float* y) {
  if (width != 32) {
    for (int64_t n = 0; n < width; ++n) y[n] = 0;
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t n = 0; n < width; ++n) y[n] += a[r] * W[r * ld_w + n];
    }
    return;
  }
  __m256 even[4], odd[4];
  for (int i = 0; i < 4; ++i) even[i] = odd[i] = _mm256_setzero_ps();
  int64_t r = 0;
  for (; r + 2 <= rows; r += 2) {
    const __m256 x = _mm256_broadcast_ss(a + r), x_next = _mm256_broadcast_ss(a + r + 1);
    const float *w = W + r * ld_w, *w_next = w + ld_w;
    for (int i = 0; i < 4; ++i) {
      even[i] = _mm256_fmadd_ps(x, _mm256_loadu_ps(w + 8 * i), even[i]);
      odd[i] = _mm256_fmadd_ps(x_next, _mm256_loadu_ps(w_next + 8 * i), odd[i]);
    }
  }
  if (r < rows) {
    const __m256 x = _mm256_broadcast_ss(a + r);
    for (int i = 0; i < 4; ++i) {
      even[i] = _mm256_fmadd_ps(x, _mm256_loadu_ps(W + r * ld_w + 8 * i), even[i]);
    }
  }
  for (int i = 0; i < 4; ++i) _mm256_storeu_ps(y + 8 * i, _mm256_add_ps(even[i], odd[i]));
}

}  // namespace seq2seq_ext

#endif  // SEQ2SEQ_X86_64
