// The AVX-512 copy of the unit loops (unit_row.h): each float32 unit's
// apply() on 16 hidden units at a time, the last ones of a row masked.
#include "unit_row.h"

#if SEQ2SEQ_X86_64
// Everything below is compiled for AVX-512 with FMA, and runs only where
// core/cpu/isa.h found it. After every other header (vec512.h says why):
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,fma")
// GCC 12's AVX-512 intrinsics start some results from an "undefined" vector,
// which -Wmaybe-uninitialized reports inside its own headers; -Wpsabi notes
// that the gate math's templates pass vectors (always inlined here).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wpsabi"
#include "core/cpu/vec512.h"

namespace seq2seq_ext {
namespace {

template <class Unit>
__attribute__((flatten)) void rows_of_16(const Unit& shared, int64_t row_begin, int64_t row_end,
                                         int64_t first, int64_t end) {
  const Unit unit = shared;
  for (int64_t b = row_begin; b < row_end; ++b) {
    for (int64_t j = first; j < end; j += 16) unit.apply(AVX512Lanes{lane_mask(j, end)}, b, j);
  }
}

}  // namespace

#define SEQ2SEQ_DEFINE_AVX512_ROWS(Unit)                                             \
  void unit_rows_avx512(const Unit<float>& unit, int64_t row_begin, int64_t row_end, \
                        int64_t first, int64_t end) {                                \
    rows_of_16(unit, row_begin, row_end, first, end);                                \
  }
SEQ2SEQ_DEFINE_AVX512_ROWS(LstmForwardUnit)
SEQ2SEQ_DEFINE_AVX512_ROWS(LstmBackwardUnit)
SEQ2SEQ_DEFINE_AVX512_ROWS(GruForwardUnit)
SEQ2SEQ_DEFINE_AVX512_ROWS(GruBackwardUnit)
SEQ2SEQ_DEFINE_AVX512_ROWS(RnnTanhForwardUnit)
SEQ2SEQ_DEFINE_AVX512_ROWS(RnnReluForwardUnit)
SEQ2SEQ_DEFINE_AVX512_ROWS(RnnTanhBackwardUnit)
SEQ2SEQ_DEFINE_AVX512_ROWS(RnnReluBackwardUnit)
#undef SEQ2SEQ_DEFINE_AVX512_ROWS

}  // namespace seq2seq_ext

#pragma GCC pop_options
#endif  // SEQ2SEQ_X86_64
