// A recurrent step as register tiles, for CPUs with AVX-512 (step_tiles_avx512.cpp):
// the GEMM h W_hh^T and the cell's units fused per tile, so that the gates a
// tile computes are used while they are in the L1 cache.
//
// The hidden units are cut into groups of `width` units: 16 (one vector) for
// the LSTM and GRU, whose G gates then make G vectors, 32 for the Elman RNN's
// one gate. A tile is up to kRows(G) rows of the step times one group: its
// G * width / 16 vectors per row stay in registers (24 sums in all) while the
// loop over K reads one row of the group's packed weights (forward_panels) and
// broadcasts one element of each of the tile's rows of h. Then the tile's
// sums are added to the gates already there (the input projection; the GRU
// keeps h W_hh^T apart) and the unit functor (cells/cell_units.h) runs on the
// group's rows, 16 units at a time (core/cpu/vec512.h).
//
// The backward's carry, dh = later W_hh, is tiled the same way over dh's
// columns (groups of 32, backward_panels), then dh gets the step's output
// gradient and the backward units run on the tile's rows.
//
// Each function does the groups [group_begin, group_end) of one step, so that
// the threads of layers/cpu/team.h can share a step's groups. x86-64 only (the
// callers check SEQ2SEQ_X86_64).
#pragma once

#include "cells/cell_units.h"
#include "core/cpu/isa.h"

namespace seq2seq_ext::step_tiles {

// Hidden units per group in the forward: one vector a gate, or two for the
// one-gate Elman RNN (so that its tiles too have 24 sums). 32 in the backward.
inline int64_t forward_width(int64_t gates) { return gates == 1 ? 32 : 16; }
constexpr int64_t kBackwardWidth = 32;

inline int64_t group_count(int64_t units, int64_t width) { return (units + width - 1) / width; }

// One forward step: `rows` rows of h (leading dimension K, its size) times
// the panels (packed_weights.h's tile panels of W_hh), into gates: added to
// what they hold when gates == xgates (the LSTM's and RNN's gates, which hold
// x W_ih^T), else written (the GRU's h-side gates). The pointers are the
// unit's own, writable.
struct ForwardStep {
  const float* h;
  int64_t rows, K;
  const float* panels;
  float* gates;
  const float* xgates;
};
void forward(const LstmForwardUnit<float>& unit, const ForwardStep& step, int64_t group_begin,
             int64_t group_end);
void forward(const GruForwardUnit<float>& unit, const ForwardStep& step, int64_t group_begin,
             int64_t group_end);
void forward(const RnnTanhForwardUnit<float>& unit, const ForwardStep& step, int64_t group_begin,
             int64_t group_end);
void forward(const RnnReluForwardUnit<float>& unit, const ForwardStep& step, int64_t group_begin,
             int64_t group_end);

// One backward step's carry into dh (rows x H): dh[:later_rows] = later
// (later_rows x G*H) W_hh (+ later_direct), then dh[:rows] += grad_output.
// later, later_direct and grad_output may be null. The backward units (when
// given) then run on dh's rows [0, rows).
struct Carry {
  float* dh;
  int64_t rows, H;
  const float* later;
  int64_t later_rows, K;  // K = G*H, later's leading dimension
  const float* later_direct;
  const float* grad_output;
  const float* panels;  // packed_weights.h's tile_panels for the backward
};
void carry(const Carry& step, int64_t group_begin, int64_t group_end);
void backward(const LstmBackwardUnit<float>& unit, const Carry& step, int64_t group_begin,
              int64_t group_end);
void backward(const GruBackwardUnit<float>& unit, const Carry& step, int64_t group_begin,
              int64_t group_end);
void backward(const RnnTanhBackwardUnit<float>& unit, const Carry& step, int64_t group_begin,
              int64_t group_end);
void backward(const RnnReluBackwardUnit<float>& unit, const Carry& step, int64_t group_begin,
              int64_t group_end);

}  // namespace seq2seq_ext::step_tiles
