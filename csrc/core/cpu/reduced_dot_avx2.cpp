// The reduced dot kernel (reduced_dot.h) for AVX2 with FMA: 8 floats a vector.
#include "reduced_dot.h"

#if SEQ2SEQ_X86_64
#include <immintrin.h>

// Everything below is compiled for AVX2 with FMA, and runs only where isa.h
// found them. After every other header (reduced_dot_kernel.h says why):
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#include "reduced_dot_kernel.h"

namespace seq2seq_ext::reduced {
namespace {

struct Avx2 {
  static constexpr int64_t kLanes = 8;
  static constexpr int kRowGroup = 2;
  using Vec = __m256;
  static Vec zero() { return _mm256_setzero_ps(); }
  static Vec load(const float* x) { return _mm256_loadu_ps(x); }
  static Vec widen(const int8_t* w) {
    const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(w));
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes));
  }
  static Vec widen(const uint16_t* w) {
    const __m128i halves = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(halves), 16));
  }
  static Vec widen(const float* w) { return _mm256_loadu_ps(w); }
  static void prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0); }
  static Vec multiply_add(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
  static float sum(Vec v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
  }
};

}  // namespace

void dot_rows_avx2(const DotRows<int8_t>& job) { run<Avx2>(job); }
void dot_rows_avx2(const DotRows<uint16_t>& job) { run<Avx2>(job); }
void dot_rows_avx2(const DotRows<float>& job) { run<Avx2>(job); }

}  // namespace seq2seq_ext::reduced

#pragma GCC pop_options
#endif  // SEQ2SEQ_X86_64
