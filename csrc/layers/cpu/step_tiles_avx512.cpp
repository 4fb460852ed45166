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

// Panel rows a tile asks the cache for ahead of its loads: the hardware's
// prefetcher alone leaves the panels' reads from L2 and L3 waiting (measured
// on AVX-512 Xeons: 8 rows ahead made the tiles 10-20% faster at H = 256 to
// 1024; reading the panel in chunks of K that stay in L1 did not help).
constexpr int64_t kPrefetchRows = 8;

// C[r, offset[v] + n] (+)= sum over k < K of A[r, k] * P[k, v, n] for the Rows
// rows of the tile, its V vectors and n < 16 (where mask[v] has lane n).
// P: the group's panel, K rows of V * 16 floats. Not inlined into the flattened
// callers: its Rows * V sums need the registers that the units' constants
// would otherwise hold.
template <int V, int Rows>
__attribute__((noinline)) void tile(const float* A, int64_t lda, int64_t K, const float* P,
                                    float* C, int64_t ldc, const TileColumns<V>& columns,
                                    bool accumulate) {
  __m512 sum[Rows][V];
  for (int r = 0; r < Rows; ++r) {
    for (int v = 0; v < V; ++v) sum[r][v] = _mm512_setzero_ps();
  }
  for (int64_t k = 0; k < K; ++k, P += V * 16) {
    __m512 w[V];
    for (int v = 0; v < V; ++v) {
      // The panel row kPrefetchRows ahead (a hint: never faults past the end).
      _mm_prefetch(reinterpret_cast<const char*>(P + (kPrefetchRows * V + v) * 16), _MM_HINT_T0);
      w[v] = _mm512_loadu_ps(P + 16 * v);
    }
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
    if (rows < MaxRows)
      return tile_of<V, MaxRows - 1>(rows, A, lda, K, P, C, ldc, columns, accumulate);
  }
  tile<V, MaxRows>(A, lda, K, P, C, ldc, columns, accumulate);
}

// Rows per tile: 24 sums in registers (of 32), V weight vectors and a broadcast.
template <int V>
constexpr int kTileRows = 24 / V;

// A (rows x K, leading dimension lda) times the panels of every group.
struct Product {
  const float* A;
  int64_t lda, K;
  const float* panels;
};

// Group q's columns of C (+)= its rows of the product, tile by tile.
template <int V>
inline void group_product(int64_t rows, const Product& p, int64_t q, float* C, int64_t ldc,
                          const TileColumns<V>& columns, bool accumulate) {
  const float* panel = p.panels + q * p.K * V * 16;
  for (int64_t r = 0; r < rows; r += kTileRows<V>) {
    const int64_t count = std::min<int64_t>(kTileRows<V>, rows - r);
    tile_of<V, kTileRows<V>>(count, p.A + r * p.lda, p.lda, p.K, panel, C + r * ldc, ldc, columns,
                             accumulate);
  }
}

// A forward step's product for group q: h W_hh^T into gates, added to them
// when they are the xgates.
template <int V>
inline void forward_product(const ForwardStep& step, int64_t q, int64_t first, int64_t ldc,
                            const TileColumns<V>& columns) {
  group_product<V>(step.rows, {step.h, step.K, step.K, step.panels}, q, step.gates + first, ldc,
                   columns, /*accumulate=*/step.gates == step.xgates);
}

// The forward of the LSTM and GRU: a vector per gate, gate g's columns at g*H.
template <int G, class Unit>
__attribute__((flatten)) void gated_forward(const Unit& shared, const ForwardStep& step,
                                            int64_t group_begin, int64_t group_end) {
  const Unit unit = shared;
  const int64_t H = unit.H;
  for (int64_t q = group_begin; q < group_end; ++q) {
    const int64_t first = q * 16;
    const AVX512Lanes lanes{lane_mask(first, H)};
    TileColumns<G> columns;
    for (int g = 0; g < G; ++g) {
      columns.offset[g] = g * H;
      columns.mask[g] = lanes.mask;
    }
    forward_product<G>(step, q, first, G * H, columns);
    for (int64_t b = 0; b < step.rows; ++b) unit.apply(lanes, b, first);
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
    forward_product<2>(step, q, first, H, columns);
    for (int64_t b = 0; b < step.rows; ++b) {
      unit.apply(AVX512Lanes{columns.mask[0]}, b, first);
      if (first + 16 < H) unit.apply(AVX512Lanes{columns.mask[1]}, b, first + 16);
    }
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
      group_product<2>(step.later_rows, {step.later, step.K, step.K, step.panels}, q,
                       step.dh + first, H, columns, /*accumulate=*/false);
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

void forward(const LstmForwardUnit<float>& unit, const ForwardStep& step, int64_t group_begin,
             int64_t group_end) {
  gated_forward<4>(unit, step, group_begin, group_end);
}

void forward(const GruForwardUnit<float>& unit, const ForwardStep& step, int64_t group_begin,
             int64_t group_end) {
  gated_forward<3>(unit, step, group_begin, group_end);
}

void forward(const RnnTanhForwardUnit<float>& unit, const ForwardStep& step, int64_t group_begin,
             int64_t group_end) {
  elman_forward(unit, step, group_begin, group_end);
}

void forward(const RnnReluForwardUnit<float>& unit, const ForwardStep& step, int64_t group_begin,
             int64_t group_end) {
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
