// The reduced dot kernel (reduced_dot.h) in portable C++: one float a "vector".
#include "reduced_dot.h"
// After every other header (reduced_dot_kernel.h says why):
#include "reduced_dot_kernel.h"

namespace seq2seq_ext::reduced {
namespace {

struct Portable {
  static constexpr int64_t kLanes = 1;
  static constexpr int kRowGroup = 2;
  using Vec = float;
  static Vec zero() { return 0.0f; }
  static Vec load(const float* x) { return *x; }
  static Vec widen(const int8_t* w) { return widen_one(*w); }
  static Vec widen(const uint16_t* w) { return widen_one(*w); }
  static Vec widen(const float* w) { return *w; }
  static void prefetch(const void*) {}
  static Vec multiply_add(Vec a, Vec b, Vec c) { return a * b + c; }
  static float sum(Vec v) { return v; }
};

}  // namespace

void dot_rows_portable(const DotRows<int8_t>& job) { run<Portable>(job); }
void dot_rows_portable(const DotRows<uint16_t>& job) { run<Portable>(job); }
void dot_rows_portable(const DotRows<float>& job) { run<Portable>(job); }

}  // namespace seq2seq_ext::reduced
