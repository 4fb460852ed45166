// CPU kernels of the cell ops: rows of the batch in parallel, the hidden units
// of a row in one contiguous inner loop.
#include <ATen/Parallel.h>

#include <algorithm>

#include "cells/unit_loop.h"
#include "unit_row.h"

namespace seq2seq_ext {

// Hidden units one task handles before splitting: each unit costs a few
// exp/tanh, so a task of this size outweighs the cost of scheduling it.
constexpr int64_t kUnitsPerTask = 4096;

template <>
struct UnitLoop<c10::kCPU> {
  template <class Unit>
  static void run(const Unit& unit, int64_t rows, int64_t H) {
    const int64_t rows_per_task = std::max<int64_t>(1, kUnitsPerTask / H);
    at::parallel_for(0, rows, rows_per_task,
                     [&](int64_t begin, int64_t end) { unit_rows(unit, begin, end, 0, H); });
  }
};

template struct CellKernels<c10::kCPU>;

}  // namespace seq2seq_ext
