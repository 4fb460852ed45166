// Which vector instructions the CPU running the extension has. The extension
// is built for the x86-64 baseline (SSE2), so that it loads on any x86-64 CPU;
// the hot loops have copies built for AVX2 (cells/cpu/unit_row.h, layers/cpu/gemv.h) and
// AVX-512 with F, BW, VL and DQ (reduced_dot.h, the float32 unit loops and the layers' step
// tiles), which run where this says the CPU has them.
//
// SEQ2SEQ_EXT_CPU_ISA=baseline|avx2|avx512 (read once, at the first call) caps what
// is used, so that the tests run every copy on one machine.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string_view>

#if defined(__x86_64__) && defined(__GNUC__)
#define SEQ2SEQ_X86_64 1
#else
#define SEQ2SEQ_X86_64 0
#endif

namespace seq2seq_ext {

enum class CpuIsa { Baseline, Avx2Fma, Avx512 };

inline CpuIsa best_cpu_isa() {
#if SEQ2SEQ_X86_64
  static const CpuIsa isa = [] {
    __builtin_cpu_init();
    CpuIsa best = CpuIsa::Baseline;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best = CpuIsa::Avx2Fma;
    if (best == CpuIsa::Avx2Fma && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq")) {
      best = CpuIsa::Avx512;
    }
    const char* cap = std::getenv("SEQ2SEQ_EXT_CPU_ISA");
    const std::string_view limit = cap == nullptr ? "" : cap;
    if (limit == "baseline") return CpuIsa::Baseline;
    if (limit == "avx2" && best == CpuIsa::Avx512) return CpuIsa::Avx2Fma;
    return best;
  }();
  return isa;
#else
  return CpuIsa::Baseline;
#endif
}

inline bool cpu_has_avx2_fma() { return best_cpu_isa() >= CpuIsa::Avx2Fma; }

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
