// The reduced dot kernel (reduced_dot.h) for AVX-512: 16 floats a vector.
#include "reduced_dot.h"

#if SEQ2SEQ_X86_64
#include <immintrin.h>

// Everything below is compiled for AVX-512 (F, BW, VL) with FMA, and runs
// only where isa.h found them. After every other header
// (reduced_dot_kernel.h says why):
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,fma")
// GCC 12's AVX-512 intrinsics start some results from an "undefined" vector,
// which -Wmaybe-uninitialized reports inside its own headers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "reduced_dot_kernel.h"

namespace seq2seq_ext::reduced {
namespace {

struct Avx512 {
  static constexpr int64_t kLanes = 16;
  static constexpr int kRowGroup = 5;
  using Vec = __m512;
  static Vec zero() { return _mm512_setzero_ps(); }
  static Vec load(const float* x) { return _mm512_loadu_ps(x); }
  static Vec widen(const int8_t* w) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w));
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(bytes));
  }
  static Vec widen(const uint16_t* w) {
    const __m256i halves = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(halves), 16));
  }
  static Vec widen(const float* w) { return _mm512_loadu_ps(w); }
  static void prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0); }
  static Vec multiply_add(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
  static float sum(Vec v) { return _mm512_reduce_add_ps(v); }
};

}  // namespace

void dot_rows_avx512(const DotRows<int8_t>& job) { run<Avx512>(job); }
void dot_rows_avx512(const DotRows<uint16_t>& job) { run<Avx512>(job); }
void dot_rows_avx512(const DotRows<float>& job) { run<Avx512>(job); }

}  // namespace seq2seq_ext::reduced

#pragma GCC pop_options
#endif  // SEQ2SEQ_X86_64
