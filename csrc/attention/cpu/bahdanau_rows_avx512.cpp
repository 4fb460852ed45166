// The AVX-512 copy of Bahdanau attention's loops over A (bahdanau_rows.h).
#include "bahdanau_rows.h"

#if SEQ2SEQ_X86_64
// Everything below is compiled for AVX-512 with FMA, and runs only where
// core/cpu/isa.h found it. After every other header (core/cpu/vec512.h says why):
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,fma")
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wpsabi"
#include "core/cpu/vec512.h"

namespace seq2seq_ext {

__attribute__((flatten)) float bahdanau_score_avx512(const float* q, const float* k, const float* v,
                                                     int64_t A) {
  F32x16 sum(0.0f);
  for (int64_t a = 0; a < A; a += 16) {
    const AVX512Lanes lanes{lane_mask(a, A)};
    const F32x16 th = tanh_(lanes.load(q + a) + lanes.load(k + a));
    sum = _mm512_fmadd_ps(lanes.load(v + a).v, th.v, sum.v);
  }
  return _mm512_reduce_add_ps(sum.v);
}

__attribute__((flatten)) void bahdanau_score_backward_avx512(const float* q, const float* k,
                                                             const float* v, float ds, int64_t A,
                                                             float* gk, float* gq, float* gv) {
  const F32x16 d(ds);
  for (int64_t a = 0; a < A; a += 16) {
    const AVX512Lanes lanes{lane_mask(a, A)};
    const F32x16 th = tanh_(lanes.load(q + a) + lanes.load(k + a));
    const F32x16 g = d * lanes.load(v + a) * (F32x16(1.0f) - th * th);
    lanes.store(gk + a, lanes.load(gk + a) + g);
    lanes.store(gq + a, lanes.load(gq + a) + g);
    lanes.store(gv + a, lanes.load(gv + a) + d * th);
  }
}

}  // namespace seq2seq_ext

#pragma GCC pop_options
#endif  // SEQ2SEQ_X86_64
