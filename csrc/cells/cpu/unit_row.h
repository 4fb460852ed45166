// The CPU's innermost loops: a unit functor (../cell_units.h) over the rows
// [row_begin, row_end) and, in each, the hidden units [first, end).
//
// Compiled for the x86-64 baseline (SSE2, 4 floats a vector) and for AVX2 (8
// floats a vector), both from the unit's scalar code, which the compiler
// vectorizes: neither copy uses FMA, so those two round alike. The float32
// units have a third copy, for AVX-512 with FMA (unit_rows_avx512.cpp), which
// runs each unit's apply() on 16 units at once with core/cpu/vec512.h's exp,
// sigmoid and tanh: within the bounds docs/design.md states of float64, not
// bit-equal to the other two.
#pragma once

#include <cstdint>

#include "cells/cell_units.h"
#include "core/cpu/isa.h"

namespace seq2seq_ext {

// The unit is copied to a local: its pointers then cannot change under the
// stores the loop makes, so the compiler keeps them in registers. A unit writes
// only its own (b, j) elements: no dependence between iterations, whatever the
// compiler fears about the unit's pointers (ivdep). Always inlined, so each
// copy below vectorizes it for its own target.
template <class Unit>
inline __attribute__((always_inline)) void unit_rows_loop(const Unit& shared, int64_t row_begin,
                                                          int64_t row_end, int64_t first,
                                                          int64_t end) {
  const Unit unit = shared;
  for (int64_t b = row_begin; b < row_end; ++b) {
#pragma GCC ivdep
    for (int64_t j = first; j < end; ++j) unit(b, j);
  }
}

template <class Unit>
void unit_rows_baseline(const Unit& unit, int64_t row_begin, int64_t row_end, int64_t first,
                        int64_t end) {
  unit_rows_loop(unit, row_begin, row_end, first, end);
}

#if SEQ2SEQ_X86_64
template <class Unit>
__attribute__((target("avx2"))) void unit_rows_avx2(const Unit& unit, int64_t row_begin,
                                                    int64_t row_end, int64_t first, int64_t end) {
  unit_rows_loop(unit, row_begin, row_end, first, end);
}

// The AVX-512 copies (unit_rows_avx512.cpp), one per float32 unit.
#define SEQ2SEQ_DECLARE_AVX512_ROWS(Unit)                                            \
  void unit_rows_avx512(const Unit<float>& unit, int64_t row_begin, int64_t row_end, \
                        int64_t first, int64_t end);
SEQ2SEQ_DECLARE_AVX512_ROWS(LstmForwardUnit)
SEQ2SEQ_DECLARE_AVX512_ROWS(LstmBackwardUnit)
SEQ2SEQ_DECLARE_AVX512_ROWS(GruForwardUnit)
SEQ2SEQ_DECLARE_AVX512_ROWS(GruBackwardUnit)
SEQ2SEQ_DECLARE_AVX512_ROWS(RnnTanhForwardUnit)
SEQ2SEQ_DECLARE_AVX512_ROWS(RnnReluForwardUnit)
SEQ2SEQ_DECLARE_AVX512_ROWS(RnnTanhBackwardUnit)
SEQ2SEQ_DECLARE_AVX512_ROWS(RnnReluBackwardUnit)
#undef SEQ2SEQ_DECLARE_AVX512_ROWS
#endif

template <class Unit>
void unit_rows(const Unit& unit, int64_t row_begin, int64_t row_end, int64_t first, int64_t end) {
#if SEQ2SEQ_X86_64
  if constexpr (requires { unit_rows_avx512(unit, row_begin, row_end, first, end); }) {
    if (best_cpu_isa() == CpuIsa::Avx512) {
      return unit_rows_avx512(unit, row_begin, row_end, first, end);
    }
  }
  if (cpu_has_avx2_fma()) return unit_rows_avx2(unit, row_begin, row_end, first, end);
#endif
  unit_rows_baseline(unit, row_begin, row_end, first, end);
}

}  // namespace seq2seq_ext
