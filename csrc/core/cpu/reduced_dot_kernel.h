// The kernel of reduced_dot.h, written once over an instruction set `Isa`:
//   kLanes, Vec: a vector of kLanes floats; kRowGroup: the rows of x a tile
//   takes (its 4 * kRowGroup sums stay in registers); zero(); load(x): kLanes floats;
//   widen(w): kLanes int8, bfloat16 or float32 weights as floats; multiply_add(a, b, c):
//   a * b + c; sum(v): the sum of the lanes; prefetch(p): asks for p's cache
//   line (streaming weights larger than the cache, the hardware's prefetcher
//   alone leaves bandwidth unused).
// Included only by the reduced_dot_*.cpp files, each after the target pragma
// of its instruction set and after every other header (so that nothing else is
// compiled for that target), inside an anonymous namespace (so that each file's
// copy stays its own).
#pragma once

namespace seq2seq_ext::reduced {
namespace {

#define SEQ2SEQ_INLINE inline __attribute__((always_inline))

SEQ2SEQ_INLINE float widen_one(int8_t w) { return w; }
// A bfloat16 is the top 16 bits of a float32.
SEQ2SEQ_INLINE float widen_one(uint16_t w) { return std::bit_cast<float>(uint32_t{w} << 16); }
SEQ2SEQ_INLINE float widen_one(float w) { return w; }

// sums[r][c] = dot(x[r, :K], W[c, :K]) for kRows rows of x (leading dimension
// ld_x) and kCols rows of W (leading dimension K): kRows * kCols independent
// sums hide the multiply-add latency, each weight vector serves kRows rows.
template <class Isa, int kRows, int kCols, class Weight>
SEQ2SEQ_INLINE void dot_tile(const float* x, int64_t ld_x, const Weight* w, int64_t K,
                             float (&sums)[kRows][kCols]) {
  typename Isa::Vec acc[kRows][kCols];
  for (int r = 0; r < kRows; ++r) {
    for (int c = 0; c < kCols; ++c) acc[r][c] = Isa::zero();
  }
  int64_t k = 0;
  for (; k + Isa::kLanes <= K; k += Isa::kLanes) {
    typename Isa::Vec weights[kCols];
    for (int c = 0; c < kCols; ++c) {
      Isa::prefetch(w + (c + kCols) * K + k);  // the next tile's (a hint: never faults)
      __builtin_prefetch(w + (c + 8 * kCols) * K + k, 0, 2);
      weights[c] = Isa::widen(w + c * K + k);
    }
    for (int r = 0; r < kRows; ++r) {
      const typename Isa::Vec xs = Isa::load(x + r * ld_x + k);
      for (int c = 0; c < kCols; ++c) acc[r][c] = Isa::multiply_add(xs, weights[c], acc[r][c]);
    }
  }
  for (int r = 0; r < kRows; ++r) {
    for (int c = 0; c < kCols; ++c) {
      float sum = Isa::sum(acc[r][c]);
      for (int64_t tail = k; tail < K; ++tail) {
        sum += x[r * ld_x + tail] * widen_one(w[c * K + tail]);
      }
      sums[r][c] = sum;
    }
  }
}

// The tile of x rows r ... r + kRows by weight rows n ... n + kCols, written
// out with scale, bias and accumulation.
template <class Isa, int kRows, int kCols, class Weight>
SEQ2SEQ_INLINE void tile(const DotRows<Weight>& job, int64_t r, int64_t n) {
  float sums[kRows][kCols];
  dot_tile<Isa, kRows, kCols>(job.x + r * job.ld_x, job.ld_x, job.w + n * job.K, job.K, sums);
  for (int i = 0; i < kRows; ++i) {
    for (int c = 0; c < kCols; ++c) {
      float value = sums[i][c];
      if (job.scale != nullptr) value *= job.scale[n + c];
      if (job.bias != nullptr) value += job.bias[n + c];
      float& out = job.y[(r + i) * job.ld_y + n + c];
      out = job.accumulate ? out + value : value;
    }
  }
}

// The last rows of x, fewer than a group: kRows of them, or fewer.
template <class Isa, int kCols, int kRows, class Weight>
SEQ2SEQ_INLINE void last_rows(const DotRows<Weight>& job, int64_t r, int64_t n) {
  if constexpr (kRows > 0) {
    if (job.rows - r == kRows) return tile<Isa, kRows, kCols>(job, r, n);
    last_rows<Isa, kCols, kRows - 1>(job, r, n);
  }
}

// The rows of x against kCols weight rows at n, Isa::kRowGroup rows of x at a
// time (as many as its registers hold sums for), the weight rows widened once
// per group.
template <class Isa, int kCols, class Weight>
SEQ2SEQ_INLINE void weight_rows(const DotRows<Weight>& job, int64_t n) {
  constexpr int kGroup = Isa::kRowGroup;
  int64_t r = 0;
  for (; r + kGroup <= job.rows; r += kGroup) tile<Isa, kGroup, kCols>(job, r, n);
  last_rows<Isa, kCols, kGroup - 1>(job, r, n);
}

// Four weight rows at a time: four independent sums per row of x.
template <class Isa, class Weight>
void run(const DotRows<Weight>& job) {
  int64_t n = 0;
  for (; n + 4 <= job.count; n += 4) weight_rows<Isa, 4>(job, n);
  for (; n < job.count; ++n) weight_rows<Isa, 1>(job, n);
}

#undef SEQ2SEQ_INLINE

}  // namespace
}  // namespace seq2seq_ext::reduced
