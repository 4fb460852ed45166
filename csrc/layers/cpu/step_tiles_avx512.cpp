// The AVX-512 step tiles of step_tiles.h.
#include <algorithm>

#include "step_tiles.h"

#if SEQ2SEQ_X86_64
// Everything below is compiled for AVX-512 with FMA, and runs only where
// core/cpu/isa.h found it. After every other header (core/cpu/vec512.h says why):
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,fma")
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wpsabi"
#include "core/cpu/vec512.h"

namespace seq2seq_ext::step_tiles {
namespace {

// The vectors of a tile's row: where each starts in the output row (relative
// to the group's first unit) and which of its lanes are real units.
template <int V>
struct TileColumns {
  int64_t offset[V];
  __mmask16 mask[V];
};

// C[r, offset[v] + n] (+)= sum over k < K of A[r, k] * P[k, v, n] for the Rows
// rows of the tile, its V vectors and n < 16 (where mask[v] has lane n).
// P: the group's panel, K rows of V * 16 floats. Not inlined into the flattened
// callers: its Rows * V sums need the registers that the units' constants
// would otherwise hold.
template <int V, int Rows>
__attribute__((noinline)) void tile(const float* A, int64_t lda, int64_t K, const float* P, float* C, int64_t ldc,
                 const TileColumns<V>& columns, bool accumulate) {
  __m512 sum[Rows][V];
  for (int r = 0; r < Rows; ++r) {
    for (int v = 0; v < V; ++v) sum[r][v] = _mm512_setzero_ps();
  }
  for (int64_t k = 0; k < K; ++k, P += V * 16) {
    __m512 w[V];
    for (int v = 0; v < V; ++v) w[v] = _mm512_loadu_ps(P + 16 * v);
    for (int r = 0; r < Rows; ++r) {
      const __m512 a = _mm512_set1_ps(A[r * lda + k]);
      for (int v = 0; v < V; ++v) sum[r][v] = _mm512_fmadd_ps(a, w[v], sum[r][v]);
    }
  }
  for (int r = 0; r < Rows; ++r) {
    for (int v = 0; v < V; ++v) {
      const AVX512Lanes lanes{columns.mask[v]};
      float* c = C + r * ldc + columns.offset[v];
      lanes.store(c, accumulate ? F32x16(sum[r][v]) + lanes.load(c) : F32x16(sum[r][v]));
    }
  }
}

// tile<V, rows> for rows < MaxRows, a template each (the sums must be registers).
template <int V, int MaxRows>
inline void tile_of(int64_t rows, const float* A, int64_t lda, int64_t K, const float* P, float* C,
                    int64_t ldc, const TileColumns<V>& columns, bool accumulate) {
  if constexpr (MaxRows > 1) {
    if (rows < MaxRows) return tile_of<V, MaxRows - 1>(rows, A, lda, K, P, C, ldc, columns, accumulate);
  }
  tile<V, MaxRows>(A, lda, K, P, C, ldc, columns, accumulate);
}

// Rows per tile: 24 sums in registers (of 32), V weight vectors and a broadcast.
template <int V>
constexpr int kTileRows = 24 / V;

// Rows of K a tile reads before the next tile: the group's panel rows for
// them (V vectors each) fill half the L1 cache, so the other tiles of the
// group read them from L1 again, not from L2.
template <int V>
constexpr int64_t kChunk = 384 / V;

// For every tile of rows [0, rows) of a group: the tile's GEMM over K in
// chunks, then units(first row, rows) on its rows.
template <int V, class Units>
inline void group_tiles(int64_t rows, const float* A, int64_t lda, int64_t K, const float* panel,
                        float* C, int64_t ldc, const TileColumns<V>& columns, bool accumulate,
                        const Units& units) {
  for (int64_t k = 0; k < K; k += kChunk<V>) {
    const int64_t chunk = std::min<int64_t>(kChunk<V>, K - k);
    for (int64_t r = 0; r < rows; r += kTileRows<V>) {
      const int64_t count = std::min<int64_t>(kTileRows<V>, rows - r);
      tile_of<V, kTileRows<V>>(count, A + r * lda + k, lda, chunk, panel + k * V * 16,
                               C + r * ldc, ldc, columns, accumulate || k > 0);
    }
  }
  for (int64_t r = 0; r < rows; r += kTileRows<V>) {
    units(r, std::min<int64_t>(kTileRows<V>, rows - r));
  }
}

// The forward of the LSTM and GRU: a vector per gate, gate g's columns at g*H.
template <int G, class Unit>
__attribute__((flatten)) void gated_forward(const Unit& shared, const ForwardStep& step,
                                            int64_t H, bool accumulate, int64_t group_begin,
                                            int64_t group_end) {
  const Unit unit = shared;
  for (int64_t q = group_begin; q < group_end; ++q) {
    const int64_t first = q * 16;
    const AVX512Lanes lanes{lane_mask(first, H)};
    TileColumns<G> columns;
    for (int g = 0; g < G; ++g) {
      columns.offset[g] = g * H;
      columns.mask[g] = lanes.mask;
    }
    group_tiles<G>(step.rows, step.h, step.K, step.K, step.panels + q * step.K * G * 16,
                   step.gates + first, G * H, columns, accumulate,
                   [&](int64_t row, int64_t count) {
                     for (int64_t b = row; b < row + count; ++b) unit.apply(lanes, b, first);
                   });
  }
}

// The Elman RNN's forward: one gate, two vectors (32 units) a group.
template <class Unit>
__attribute__((flatten)) void elman_forward(const Unit& shared, const ForwardStep& step,
                                            int64_t group_begin, int64_t group_end) {
  const Unit unit = shared;
  const int64_t H = unit.H;
  for (int64_t q = group_begin; q < group_end; ++q) {
    const int64_t first = q * 32;
    const TileColumns<2> columns{{0, 16}, {lane_mask(first, H), lane_mask(first + 16, H)}};
    group_tiles<2>(step.rows, step.h, step.K, step.K, step.panels + q * step.K * 32,
                   step.gates + first, H, columns, /*accumulate=*/true,
                   [&](int64_t row, int64_t count) {
                     for (int64_t b = row; b < row + count; ++b) {
                       unit.apply(AVX512Lanes{columns.mask[0]}, b, first);
                       if (first + 16 < H) unit.apply(AVX512Lanes{columns.mask[1]}, b, first + 16);
                     }
                   });
  }
}

// The carry of group q (32 columns of dh), then backward_units(b, first,
// lanes) for each row b < rows and each of the group's two vectors.
template <class BackwardUnits>
__attribute__((flatten)) void carry_groups(const Carry& step, int64_t group_begin,
                                           int64_t group_end, const BackwardUnits& units) {
  const int64_t H = step.H;
  for (int64_t q = group_begin; q < group_end; ++q) {
    const int64_t first = q * kBackwardWidth;
    const TileColumns<2> columns{{0, 16}, {lane_mask(first, H), lane_mask(first + 16, H)}};
    if (step.later != nullptr) {
      group_tiles<2>(step.later_rows, step.later, step.K, step.K,
                     step.panels + q * step.K * kBackwardWidth, step.dh + first, H, columns,
                     /*accumulate=*/false, [](int64_t, int64_t) {});
    }
    for (int64_t b = 0; b < step.rows; ++b) {
      for (int v = 0; v < 2 && first + 16 * v < H; ++v) {
        const int64_t j = first + 16 * v;
        const AVX512Lanes lanes{columns.mask[v]};
        float* dh = step.dh + b * H + j;
        F32x16 x = lanes.load(dh);
        if (step.later_direct != nullptr && b < step.later_rows) {
          x = x + lanes.load(step.later_direct + b * H + j);
        }
        if (step.grad_output != nullptr) x = x + lanes.load(step.grad_output + b * H + j);
        lanes.store(dh, x);
        units(b, j, lanes);
      }
    }
  }
}

template <class Unit>
void carry_and_units(const Unit& shared, const Carry& step, int64_t group_begin,
                     int64_t group_end) {
  const Unit unit = shared;
  carry_groups(step, group_begin, group_end,
               [&](int64_t b, int64_t j, const AVX512Lanes& lanes) { unit.apply(lanes, b, j); });
}

}  // namespace

void forward(const LstmForwardUnit<float>& unit, const ForwardStep& step,
                  int64_t group_begin, int64_t group_end) {
  gated_forward<4>(unit, step, unit.H, /*accumulate=*/true, group_begin, group_end);
}

void forward(const GruForwardUnit<float>& unit, const ForwardStep& step, int64_t group_begin,
                 int64_t group_end) {
  gated_forward<3>(unit, step, unit.H, /*accumulate=*/false, group_begin, group_end);
}

void forward(const RnnTanhForwardUnit<float>& unit, const ForwardStep& step,
                 int64_t group_begin, int64_t group_end) {
  elman_forward(unit, step, group_begin, group_end);
}

void forward(const RnnReluForwardUnit<float>& unit, const ForwardStep& step,
                 int64_t group_begin, int64_t group_end) {
  elman_forward(unit, step, group_begin, group_end);
}

void carry(const Carry& step, int64_t group_begin, int64_t group_end) {
  carry_groups(step, group_begin, group_end, [](int64_t, int64_t, const AVX512Lanes&) {});
}

void backward(const LstmBackwardUnit<float>& unit, const Carry& step, int64_t group_begin,
                   int64_t group_end) {
  carry_and_units(unit, step, group_begin, group_end);
}

void backward(const GruBackwardUnit<float>& unit, const Carry& step, int64_t group_begin,
                  int64_t group_end) {
  carry_and_units(unit, step, group_begin, group_end);
}

void backward(const RnnTanhBackwardUnit<float>& unit, const Carry& step, int64_t group_begin,
                  int64_t group_end) {
  carry_and_units(unit, step, group_begin, group_end);
}

void backward(const RnnReluBackwardUnit<float>& unit, const Carry& step, int64_t group_begin,
                  int64_t group_end) {
  carry_and_units(unit, step, group_begin, group_end);
}

}  // namespace seq2seq_ext::step_tiles

#pragma GCC pop_options
#endif  // SEQ2SEQ_X86_64
