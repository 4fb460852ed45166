// Sixteen float32 lanes of AVX-512 as a number type, F32x16, so that the gate
// math of core/cell_math.h (templates over the number type) runs on 16 hidden
// units at once, and AVX512Lanes, the loads and stores of the unit functors
// (cells/cell_units.h) for 16 consecutive units, masked at the end of a row.
//
// Included only by the *_avx512.cpp files, after their target pragma and after
// every other header (so that nothing else is compiled for AVX-512), inside an
// anonymous namespace (each file's copy stays its own). Functions that use it
// are __attribute__((flatten)): everything they call is inlined into them, and
// so compiled for AVX-512 too (the templates of cell_math.h and cell_units.h
// are not themselves AVX-512 functions).
//
// The rounding contract (docs/design.md, "ISA copies"): exp_, sigmoid and
// tanh_ below are not the scalar ones of cell_math.h. sigmoid is within 2^-22
// relative error of float64 and tanh within 2^-22 absolute error (outputs in
// [-1, 1]); every copy of every unit is tested against float64 with those
// bounds, not for bit-equality with another copy.
#pragma once

#include <immintrin.h>

namespace seq2seq_ext {
namespace {

struct F32x16 {
  __m512 v;
  F32x16() = default;
  F32x16(__m512 x) : v(x) {}
  explicit F32x16(float x) : v(_mm512_set1_ps(x)) {}
};

inline F32x16 operator+(F32x16 a, F32x16 b) { return _mm512_add_ps(a.v, b.v); }
inline F32x16 operator-(F32x16 a, F32x16 b) { return _mm512_sub_ps(a.v, b.v); }
inline F32x16 operator*(F32x16 a, F32x16 b) { return _mm512_mul_ps(a.v, b.v); }
inline F32x16 operator/(F32x16 a, F32x16 b) { return _mm512_div_ps(a.v, b.v); }
inline F32x16 operator-(F32x16 a) { return _mm512_xor_ps(a.v, _mm512_set1_ps(-0.0f)); }

// min and max that keep a NaN of x (the instructions return their second
// operand when either is NaN).
inline F32x16 at_most(F32x16 x, float bound) { return _mm512_min_ps(_mm512_set1_ps(bound), x.v); }
inline F32x16 at_least(F32x16 x, float bound) { return _mm512_max_ps(_mm512_set1_ps(bound), x.v); }

// 1 / d: the 14-bit estimate, then one Newton step y + y (1 - d y), which
// squares its relative error (below 2^-27, so the result is within an ulp or
// two of the quotient). d must be finite and nonzero: the callers' d >= 1.
inline F32x16 reciprocal(F32x16 d) {
  const __m512 y = _mm512_rcp14_ps(d.v);
  return _mm512_fmadd_ps(_mm512_fnmadd_ps(d.v, y, _mm512_set1_ps(1.0f)), y, y);
}

// e^x as cell_math.h's polynomial_expf computes it (Cephes' expf: x = n ln2 +
// r, |r| <= ln2/2, e^r by the same degree-7 polynomial), with FMA, rounding to
// n by the instruction, and 2^n applied by scalef, which also gives inf and 0
// where e^x overflows or underflows. x is clamped first (NaN kept) so that
// x = +-inf gives inf and 0, not inf - inf.
inline F32x16 exp_(F32x16 x) {
  x = at_least(at_most(x, 89.0f), -104.0f);
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x.v, _mm512_set1_ps(1.44269504f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x.v);  // ln2 in two parts
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  const __m512 exp_r =
      _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(exp_r, n);
}

// 1 / (1 + e^-x); 0 below x = -88, where it is under 2^-126 (as the scalar
// sigmoid, whose e^-x overflows there). The clamp keeps e^-x finite for the
// reciprocal.
inline F32x16 sigmoid(F32x16 x) {
  const F32x16 y = reciprocal(F32x16(1.0f) + exp_(-at_least(x, -88.0f)));
  const __mmask16 not_tiny = _mm512_cmp_ps_mask(x.v, _mm512_set1_ps(-88.0f), _CMP_NLT_UQ);
  return _mm512_maskz_mov_ps(not_tiny, y.v);
}

// tanh as a rational function, x P(x^2) / Q(x^2) with P of degree 6 and Q of
// degree 3 in x^2, on x clamped to [-7.99881, 7.99881] (beyond, tanh rounds to
// +-1): the minimax fit Eigen uses (generic_fast_tanh_float), one reciprocal
// instead of an exp and a division. Within a few 2^-24 of float64, absolute
// and relative; NaN stays NaN (the clamp keeps it).
inline F32x16 tanh_(F32x16 x) {
  const __m512 c = at_least(at_most(x, 7.99881172180175781f), -7.99881172180175781f).v;
  const __m512 c2 = _mm512_mul_ps(c, c);
  __m512 p = _mm512_set1_ps(-2.76076847742355e-16f);
  p = _mm512_fmadd_ps(c2, p, _mm512_set1_ps(2.00018790482477e-13f));
  p = _mm512_fmadd_ps(c2, p, _mm512_set1_ps(-8.60467152213735e-11f));
  p = _mm512_fmadd_ps(c2, p, _mm512_set1_ps(5.12229709037114e-08f));
  p = _mm512_fmadd_ps(c2, p, _mm512_set1_ps(1.48572235717979e-05f));
  p = _mm512_fmadd_ps(c2, p, _mm512_set1_ps(6.37261928875436e-04f));
  p = _mm512_fmadd_ps(c2, p, _mm512_set1_ps(4.89352455891786e-03f));
  __m512 q = _mm512_set1_ps(1.19825839466702e-06f);
  q = _mm512_fmadd_ps(c2, q, _mm512_set1_ps(1.18534705686654e-04f));
  q = _mm512_fmadd_ps(c2, q, _mm512_set1_ps(2.26843463243900e-03f));
  q = _mm512_fmadd_ps(c2, q, _mm512_set1_ps(4.89352518554385e-03f));
  return F32x16(_mm512_mul_ps(c, p)) * reciprocal(q);
}

inline F32x16 relu_(F32x16 x) { return at_least(x, 0.0f); }

// dh where h > 0, else 0 (h is the ReLU's output).
inline F32x16 relu_grad_(F32x16 h, F32x16 dh) {
  const __mmask16 positive = _mm512_cmp_ps_mask(h.v, _mm512_setzero_ps(), _CMP_GT_OQ);
  return _mm512_maskz_mov_ps(positive, dh.v);
}

// The loads and stores of a unit functor for 16 consecutive hidden units of
// one row; `mask` leaves out the units past the row's end.
// Whole vectors take plain loads and stores: a load that reads what a masked
// store just wrote waits for the store to reach the cache, a plain one gets
// the stored value forwarded.
struct AVX512Lanes {
  __mmask16 mask;
  F32x16 load(const float* p) const {
    return mask == 0xffff ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(mask, p);
  }
  void store(float* p, F32x16 x) const {
    if (mask == 0xffff) {
      _mm512_storeu_ps(p, x.v);
    } else {
      _mm512_mask_storeu_ps(p, mask, x.v);
    }
  }
};

// The lanes of the units [j, end) of a row: at most 16, none where j >= end.
inline __mmask16 lane_mask(int64_t j, int64_t end) {
  const int64_t n = end - j;
  return n >= 16 ? __mmask16(0xffff) : (n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1));
}

}  // namespace
}  // namespace seq2seq_ext
