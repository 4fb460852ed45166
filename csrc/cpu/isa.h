// Which vector instructions the CPU running the extension has. The extension
// is built for the x86-64 baseline (SSE2), so that it loads on any x86-64 CPU;
// the hot loops have a second copy built for AVX2 with FMA (unit_row.h,
// gemv.h), which runs where this says the CPU has them.
#pragma once

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

}  // namespace seq2seq_ext
