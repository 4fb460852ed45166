// Which vector instructions the CPU running the extension has. The extension
// is built for the x86-64 baseline (SSE2), so that it loads on any x86-64 CPU;
// the hot loops have a second copy built for AVX2 with FMA (unit_row.h,
// gemv.h), which runs where this says the CPU has them.
#pragma once

#include <cstdint>

#if defined(__x86_64__) && defined(__GNUC__)
#define SEQ2SEQ_X86_64 1
#else
#define SEQ2SEQ_X86_64 0
#endif

namespace seq2seq_ext {

inline bool cpu_has_avx2_fma() {
#if SEQ2SEQ_X86_64
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return has;
#else
  return false;
#endif
}

// Runs body(begin, end), a functor whose call is always_inline, compiled for
// the x86-64 baseline or, where the CPU has it, for AVX2 (without FMA, so both
// copies round the same way): the compiler vectorizes the body's loops for
// each target.
template <class Body>
void run_baseline(const Body& body, int64_t begin, int64_t end) {
  body(begin, end);
}

#if SEQ2SEQ_X86_64
template <class Body>
__attribute__((target("avx2"))) void run_avx2(const Body& body, int64_t begin, int64_t end) {
  body(begin, end);
}
#endif

template <class Body>
void run_on_best_isa(const Body& body, int64_t begin, int64_t end) {
#if SEQ2SEQ_X86_64
  if (cpu_has_avx2_fma()) return run_avx2(body, begin, end);
#endif
  run_baseline(body, begin, end);
}

}  // namespace seq2seq_ext
