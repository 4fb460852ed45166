// The CPU's kernels of a recurrent step and of a layer's steps (see
// recurrent_kernels.h): per block of hidden units, the block's GEMM and then
// its pointwise units.
#include "layers/recurrent_kernels.h"

#include <ATen/native/CPUBlas.h>

#include <algorithm>
#include <type_traits>

#include "cells/cpu/unit_row.h"
#include "gemv.h"
#include "packed_weights.h"
#include "step_tiles.h"
#include "team.h"

namespace seq2seq_ext {
namespace {

// C (M x N, ld_c) (+)= A (M x K, ld_a) B (K x N, ld_b), all float32 row-major.
void gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t ld_a, const float* B,
          int64_t ld_b, float* C, int64_t ld_c, bool accumulate) {
  if (M == 0 || N == 0) return;
  at::native::cpublas::brgemm(M, N, K, ld_a, ld_b, ld_c, accumulate, A, B, C, /*is_vnni=*/false);
}

// x[b, first:first+width] += y[b, first:first+width] for b < rows (x and y
// contiguous, H columns each).
void add_columns(float* x, const float* y, int64_t rows, int64_t H, int64_t first, int64_t width) {
  for (int64_t b = 0; b < rows; ++b) {
#pragma GCC ivdep
    for (int64_t j = first; j < first + width; ++j) x[b * H + j] += y[b * H + j];
  }
}

const float* data_or_null(const Tensor& t) {
  return t.defined() ? t.const_data_ptr<float>() : nullptr;
}

// The backward steps without units: the carry into the initial state.
struct NoUnits {};

// A per-step forward call's step: h (rows x K, contiguous) times W_hh into
// gates (added to them when they are the xgates: the LSTM's and RNN's).
step_tiles::ForwardStep step_of(const Tensor& h, float* gates, float* xgates) {
  return {h.const_data_ptr<float>(), h.size(0), h.size(1), nullptr, gates, xgates};
}

// A per-step backward call's carry (recurrent_kernels.h's carry()).
step_tiles::Carry carry_of(const Tensor& dh, const Tensor& later, const Tensor& later_direct,
                           const Tensor& grad_output, int64_t rows, const Tensor& panels) {
  return {dh.mutable_data_ptr<float>(),
          rows,
          dh.size(1),
          data_or_null(later),
          later.defined() ? later.size(0) : 0,
          later.defined() ? later.size(1) : 0,
          data_or_null(later_direct),
          data_or_null(grad_output),
          data_or_null(panels)};
}

}  // namespace

RecurrentKernels<c10::kCPU>::RecurrentKernels(const Tensor& w_hh, int64_t gates, Pass pass,
                                              int64_t rows, bool reduced, const Tensor& scale)
    : w_hh_(w_hh), scale_(scale), gates_(gates), pass_(pass), path_(Path::Aten) {
  if (reduced) {
    TORCH_CHECK(pass == Pass::Forward, "a reduced-precision W_hh has no backward");
    w_hh_ = w_hh.contiguous();
    path_ = Path::Reduced;
    return;
  }
  if (w_hh.scalar_type() != at::kFloat) return;
  w_hh_ = w_hh.contiguous();
  const PanelKind kind = best_cpu_isa() == CpuIsa::Avx512 ? PanelKind::Tiles : PanelKind::Blocks;
  if (kind == PanelKind::Blocks && rows == 1 && cpu_has_avx2_fma()) {
    path_ = Path::Gemv;
    return;
  }
  path_ = kind == PanelKind::Tiles ? Path::Tiles : Path::Packed;
  panels_ = packed_panels(w_hh, gates, kind, pass == Pass::Forward);
}

int64_t RecurrentKernels<c10::kCPU>::blocks(int64_t units) const {
  if (path_ != Path::Tiles) return block_count(units, kUnitBlock);
  return block_count(units, pass_ == Pass::Forward ? step_tiles::forward_width(gates_)
                                                   : step_tiles::kBackwardWidth);
}

template <class Unit>
void RecurrentKernels<c10::kCPU>::forward_blocks(const Unit& unit, step_tiles::ForwardStep step,
                                                 int64_t begin, int64_t end) const {
#if SEQ2SEQ_X86_64
  if (path_ == Path::Tiles) {
    step.panels = panels_.const_data_ptr<float>();
    return step_tiles::forward(unit, step, begin, end);
  }
#endif
  const int64_t H = unit.H, K = step.K;
  const bool accumulate = step.gates == step.xgates;
  for (int64_t block = begin; block < end; ++block) {
    const int64_t first = block * kUnitBlock, width = std::min(kUnitBlock, H - first);
    float* columns = step.gates + first;
#if SEQ2SEQ_X86_64
    if (path_ == Path::Gemv) {
      // Rows g*H + first ... of W_hh, each dotted with the one row of h.
      const float* w = w_hh_.const_data_ptr<float>() + first * K;
      for (int64_t g = 0; g < gates_; ++g) {
        dot_rows(width, K, step.h, w + g * H * K, K, columns + g * H, accumulate);
      }
    }
#endif
    if (path_ == Path::Packed) {
      const float* panel = panels_.const_data_ptr<float>() + block * gates_ * K * kUnitBlock;
      for (int64_t g = 0; g < gates_; ++g) {
        gemm(step.rows, width, K, step.h, K, panel + g * K * kUnitBlock, kUnitBlock,
             columns + g * H, gates_ * H, accumulate);
      }
    }
    unit_rows(unit, 0, step.rows, first, first + width);
  }
}

template <class Unit>
void RecurrentKernels<c10::kCPU>::reduced_forward(const Unit& unit, const Tensor& h,
                                                  const Tensor& gates, bool accumulate,
                                                  int64_t units) const {
  float* out = gates.mutable_data_ptr<float>();
  const int64_t H = units;
  run_in_team(1, blocks(H), [&](int64_t, int64_t begin, int64_t end) {
    for (int64_t block = begin; block < end; ++block) {
      const int64_t first = block * kUnitBlock, width = std::min(kUnitBlock, H - first);
      for (int64_t g = 0; g < gates_; ++g) {
        reduced_dot_rows(w_hh_, scale_, g * H + first, width, h, nullptr, out + g * H + first,
                         gates_ * H, accumulate);
      }
      unit_rows(unit, 0, h.size(0), first, first + width);
    }
  });
}

template <class BackwardUnits>
void RecurrentKernels<c10::kCPU>::backward_blocks(const step_tiles::Carry& c,
                                                  const BackwardUnits& units, int64_t begin,
                                                  int64_t end) const {
#if SEQ2SEQ_X86_64
  if (path_ == Path::Tiles) {
    if constexpr (std::is_same_v<BackwardUnits, NoUnits>) {
      return step_tiles::carry(c, begin, end);
    } else {
      return step_tiles::backward(units, c, begin, end);
    }
  }
#endif
  const int64_t H = c.H;
  for (int64_t block = begin; block < end; ++block) {
    const int64_t first = block * kUnitBlock, width = std::min(kUnitBlock, H - first);
    if (c.later != nullptr) {
#if SEQ2SEQ_X86_64
      if (path_ == Path::Gemv) {
        // Columns first ... of W_hh, combined by the one row of `later`.
        combine_rows(c.K, width, c.later, w_hh_.const_data_ptr<float>() + first, H, c.dh + first);
      }
#endif
      if (path_ == Path::Packed) {
        gemm(c.later_rows, width, c.K, c.later, c.K,
             panels_.const_data_ptr<float>() + block * c.K * kUnitBlock, kUnitBlock, c.dh + first,
             H, /*accumulate=*/false);
      }
      if (c.later_direct != nullptr)
        add_columns(c.dh, c.later_direct, c.later_rows, H, first, width);
    }
    if (c.grad_output != nullptr) add_columns(c.dh, c.grad_output, c.rows, H, first, width);
    if constexpr (!std::is_same_v<BackwardUnits, NoUnits>) {
      unit_rows(units, 0, c.rows, first, first + width);
    }
  }
}

// ---- forward steps

void RecurrentKernels<c10::kCPU>::lstm_forward(const LstmForwardTensors& t, const Tensor& h) const {
  if (path_ == Path::Aten) return aten_lstm_forward<c10::kCPU>(w_hh_, t, h);
  const LstmForwardUnit<float> unit(t);
  if (path_ == Path::Reduced) return reduced_forward(unit, h, t.gates, true, unit.H);
  float* gates = t.gates.mutable_data_ptr<float>();
  run_in_team(1, blocks(unit.H), [&](int64_t, int64_t begin, int64_t end) {
    forward_blocks(unit, step_of(h, gates, gates), begin, end);
  });
}

void RecurrentKernels<c10::kCPU>::gru_forward(const GruForwardTensors& t, const Tensor& h) const {
  if (path_ == Path::Aten) return aten_gru_forward<c10::kCPU>(w_hh_, t, h);
  const GruForwardUnit<float> unit(t);
  if (path_ == Path::Reduced) return reduced_forward(unit, h, t.hgates, false, unit.H);
  run_in_team(1, blocks(unit.H), [&](int64_t, int64_t begin, int64_t end) {
    forward_blocks(unit, step_of(h, t.hgates.mutable_data_ptr<float>(), nullptr), begin, end);
  });
}

void RecurrentKernels<c10::kCPU>::rnn_forward(RnnNonlinearity kind, const RnnForwardTensors& t,
                                              const Tensor& h) const {
  if (path_ == Path::Aten) return aten_rnn_forward<c10::kCPU>(w_hh_, kind, t, h);
  const auto run = [&](const auto& unit) {
    if (path_ == Path::Reduced) return reduced_forward(unit, h, t.gates, true, unit.H);
    float* gates = t.gates.mutable_data_ptr<float>();
    run_in_team(1, blocks(unit.H), [&](int64_t, int64_t begin, int64_t end) {
      forward_blocks(unit, step_of(h, gates, gates), begin, end);
    });
  };
  if (kind == RnnNonlinearity::Tanh) return run(RnnTanhForwardUnit<float>(t));
  run(RnnReluForwardUnit<float>(t));
}

// ---- a layer's forward: every step in one team. Each step's unit is the
// sequence's, its pointers moved to the step's rows (at: the step's first row
// in the packed tensors; before: the previous step's, whose first rows are the
// state the step reads).

void RecurrentKernels<c10::kCPU>::lstm_sequence(const PackedSteps& steps,
                                                const LayerForward& f) const {
  if (path_ == Path::Aten || path_ == Path::Reduced || f.w_hr) return lstm_steps(*this, steps, f);
  const LstmForwardUnit<float> sequence({.gates = f.xgates,
                                         .b_ih = f.bias_ih,
                                         .b_hh = f.bias_hh,
                                         .cx = f.c0,
                                         .hy = f.output,
                                         .cy = f.cells,
                                         .workspace = f.xgates});
  const int64_t H = sequence.H;
  const float* h0 = f.h0.const_data_ptr<float>();
  run_in_team(steps.count(), blocks(H), [&](int64_t s, int64_t begin, int64_t end) {
    if (steps.rows(s) == 0) return;
    const int64_t at = steps.offset(s), before = s == 0 ? 0 : steps.offset(s - 1);
    LstmForwardUnit<float> unit = sequence;
    unit.gates = unit.workspace = sequence.workspace + at * kLstmGates * H;
    unit.cx = s == 0 ? sequence.cx : sequence.cy + before * H;
    unit.hy = sequence.hy + at * H;
    unit.cy = sequence.cy + at * H;
    const float* h = s == 0 ? h0 : sequence.hy + before * H;
    forward_blocks(unit, {h, steps.rows(s), H, nullptr, unit.workspace, unit.workspace}, begin,
                   end);
  });
}

void RecurrentKernels<c10::kCPU>::gru_sequence(const PackedSteps& steps,
                                               const LayerForward& f) const {
  if (path_ == Path::Aten || path_ == Path::Reduced) return gru_steps(*this, steps, f);
  const GruForwardUnit<float> sequence({.xgates = f.xgates,
                                        .hgates = f.hgates,
                                        .b_ih = f.bias_ih,
                                        .b_hh = f.bias_hh,
                                        .hx = f.h0,
                                        .hy = f.output,
                                        .workspace = f.workspace});
  const int64_t H = sequence.H;
  float* hgates = f.hgates.mutable_data_ptr<float>();
  run_in_team(steps.count(), blocks(H), [&](int64_t s, int64_t begin, int64_t end) {
    if (steps.rows(s) == 0) return;
    const int64_t at = steps.offset(s), before = s == 0 ? 0 : steps.offset(s - 1);
    GruForwardUnit<float> unit = sequence;
    unit.xgates = sequence.xgates + at * kGruGates * H;
    unit.hx = s == 0 ? sequence.hx : sequence.hy + before * H;
    unit.hy = sequence.hy + at * H;
    unit.workspace = sequence.workspace + at * kGruSaved * H;
    forward_blocks(unit, {unit.hx, steps.rows(s), H, nullptr, hgates, nullptr}, begin, end);
  });
}

void RecurrentKernels<c10::kCPU>::rnn_sequence(RnnNonlinearity kind, const PackedSteps& steps,
                                               const LayerForward& f) const {
  if (path_ == Path::Aten || path_ == Path::Reduced) return rnn_steps(*this, kind, steps, f);
  const RnnForwardTensors whole{
      .gates = f.xgates, .b_ih = f.bias_ih, .b_hh = f.bias_hh, .hy = f.output};
  float* gates = f.xgates.mutable_data_ptr<float>();
  const float* h0 = f.h0.const_data_ptr<float>();
  const auto run = [&](const auto& sequence) {
    const int64_t H = sequence.H;
    run_in_team(steps.count(), blocks(H), [&](int64_t s, int64_t begin, int64_t end) {
      if (steps.rows(s) == 0) return;
      const int64_t at = steps.offset(s), before = s == 0 ? 0 : steps.offset(s - 1);
      auto unit = sequence;
      unit.gates = gates + at * H;
      unit.hy = sequence.hy + at * H;
      const float* h = s == 0 ? h0 : sequence.hy + before * H;
      forward_blocks(unit, {h, steps.rows(s), H, nullptr, gates + at * H, gates + at * H}, begin,
                     end);
    });
  };
  if (kind == RnnNonlinearity::Tanh) return run(RnnTanhForwardUnit<float>(whole));
  run(RnnReluForwardUnit<float>(whole));
}

// ---- backward steps

void RecurrentKernels<c10::kCPU>::carry(const Tensor& dh, const Tensor& later,
                                        const Tensor& later_direct,
                                        const Tensor& grad_output) const {
  if (path_ == Path::Aten) return aten_carry(w_hh_, dh, later, later_direct, grad_output);
  const int64_t rows =
      grad_output.defined() ? grad_output.size(0) : (later.defined() ? later.size(0) : 0);
  const step_tiles::Carry c = carry_of(dh, later, later_direct, grad_output, rows, panels_);
  run_in_team(1, blocks(dh.size(1)), [&](int64_t, int64_t begin, int64_t end) {
    backward_blocks(c, NoUnits{}, begin, end);
  });
}

void RecurrentKernels<c10::kCPU>::lstm_backward(const LstmBackwardTensors& t, const Tensor& dh,
                                                const Tensor& later,
                                                const Tensor& grad_output) const {
  if (path_ == Path::Aten) return aten_lstm_backward<c10::kCPU>(w_hh_, t, dh, later, grad_output);
  const LstmBackwardUnit<float> unit(t);
  const step_tiles::Carry c = carry_of(dh, later, Tensor(), grad_output, t.cx.size(0), panels_);
  run_in_team(1, blocks(unit.H),
              [&](int64_t, int64_t begin, int64_t end) { backward_blocks(c, unit, begin, end); });
}

void RecurrentKernels<c10::kCPU>::gru_backward(const GruBackwardTensors& t, const Tensor& dh,
                                               const Tensor& later, const Tensor& later_direct,
                                               const Tensor& grad_output) const {
  if (path_ == Path::Aten) {
    return aten_gru_backward<c10::kCPU>(w_hh_, t, dh, later, later_direct, grad_output);
  }
  const GruBackwardUnit<float> unit(t);
  const step_tiles::Carry c = carry_of(dh, later, later_direct, grad_output, t.hx.size(0), panels_);
  run_in_team(1, blocks(unit.H),
              [&](int64_t, int64_t begin, int64_t end) { backward_blocks(c, unit, begin, end); });
}

void RecurrentKernels<c10::kCPU>::rnn_backward(RnnNonlinearity kind, const RnnBackwardTensors& t,
                                               const Tensor& dh, const Tensor& later,
                                               const Tensor& grad_output) const {
  if (path_ == Path::Aten) {
    return aten_rnn_backward<c10::kCPU>(w_hh_, kind, t, dh, later, grad_output);
  }
  const step_tiles::Carry c = carry_of(dh, later, Tensor(), grad_output, t.hy.size(0), panels_);
  const auto run = [&](const auto& unit) {
    run_in_team(1, blocks(unit.H),
                [&](int64_t, int64_t begin, int64_t end) { backward_blocks(c, unit, begin, end); });
  };
  if (kind == RnnNonlinearity::Tanh) return run(RnnTanhBackwardUnit<float>(t));
  run(RnnReluBackwardUnit<float>(t));
}

// ---- a layer's backward: every step, the last first, then the carry into the
// initial state, in one team. Iteration i runs step s = count - 1 - i (s = -1:
// that carry); `next` is the step after s, whose gate gradients it carries.

step_tiles::Carry RecurrentKernels<c10::kCPU>::sequence_carry(const PackedSteps& steps, int64_t s,
                                                              const LayerBackward& b,
                                                              const Tensor& later_gates,
                                                              const Tensor& later_direct) const {
  const int64_t H = b.dh.size(1), K = later_gates.size(1), next = s + 1;
  const bool has_later = next < steps.count() && steps.rows(next) > 0;
  const bool has_step = s >= 0;
  return {b.dh.mutable_data_ptr<float>(),
          has_step ? steps.rows(s) : (has_later ? steps.rows(next) : 0),
          H,
          has_later ? later_gates.const_data_ptr<float>() + steps.offset(next) * K : nullptr,
          has_later ? steps.rows(next) : 0,
          K,
          has_later ? data_or_null(later_direct) : nullptr,
          has_step ? b.grad_output.const_data_ptr<float>() + steps.offset(s) * H : nullptr,
          data_or_null(panels_)};
}

void RecurrentKernels<c10::kCPU>::lstm_backward_sequence(const PackedSteps& steps,
                                                         const LayerBackward& b) const {
  if (path_ == Path::Aten || b.w_hr) return lstm_backward_steps(*this, steps, b);
  const LstmBackwardUnit<float> sequence({.grad_hy = b.dh,
                                          .grad_cy = b.dc,
                                          .cx = b.c0,
                                          .cy = b.cells,
                                          .workspace = b.workspace,
                                          .grad_gates = b.grad_gates,
                                          .grad_cx = b.dc});
  const int64_t H = sequence.H, count = steps.count();
  run_in_team(count + 1, blocks(H), [&](int64_t i, int64_t begin, int64_t end) {
    const int64_t s = count - 1 - i;
    const step_tiles::Carry c = sequence_carry(steps, s, b, b.grad_gates, Tensor());
    if (s < 0) return backward_blocks(c, NoUnits{}, begin, end);
    if (steps.rows(s) == 0) return;
    const int64_t at = steps.offset(s);
    LstmBackwardUnit<float> unit = sequence;
    unit.cx = s == 0 ? sequence.cx : sequence.cy + steps.offset(s - 1) * H;
    unit.cy = sequence.cy + at * H;
    unit.workspace = sequence.workspace + at * kLstmGates * H;
    unit.grad_gates = sequence.grad_gates + at * kLstmGates * H;
    backward_blocks(c, unit, begin, end);
  });
}

void RecurrentKernels<c10::kCPU>::gru_backward_sequence(const PackedSteps& steps,
                                                        const LayerBackward& b) const {
  if (path_ == Path::Aten) return gru_backward_steps(*this, steps, b);
  const GruBackwardUnit<float> sequence({.grad_hy = b.dh,
                                         .hx = b.h0,
                                         .workspace = b.workspace,
                                         .grad_xgates = b.grad_gates,
                                         .grad_hgates = b.grad_hgates,
                                         .grad_hx_direct = b.direct});
  const int64_t H = sequence.H, count = steps.count();
  const float* output = b.output.const_data_ptr<float>();
  run_in_team(count + 1, blocks(H), [&](int64_t i, int64_t begin, int64_t end) {
    const int64_t s = count - 1 - i;
    const step_tiles::Carry c = sequence_carry(steps, s, b, b.grad_hgates, b.direct);
    if (s < 0) return backward_blocks(c, NoUnits{}, begin, end);
    if (steps.rows(s) == 0) return;
    const int64_t at = steps.offset(s);
    GruBackwardUnit<float> unit = sequence;
    unit.hx = s == 0 ? sequence.hx : output + steps.offset(s - 1) * H;
    unit.workspace = sequence.workspace + at * kGruSaved * H;
    unit.grad_xgates = sequence.grad_xgates + at * kGruGates * H;
    unit.grad_hgates = sequence.grad_hgates + at * kGruGates * H;
    backward_blocks(c, unit, begin, end);
  });
}

void RecurrentKernels<c10::kCPU>::rnn_backward_sequence(RnnNonlinearity kind,
                                                        const PackedSteps& steps,
                                                        const LayerBackward& b) const {
  if (path_ == Path::Aten) return rnn_backward_steps(*this, kind, steps, b);
  const RnnBackwardTensors whole{.grad_hy = b.dh, .hy = b.output, .grad_gates = b.grad_gates};
  const int64_t count = steps.count();
  const auto run = [&](const auto& sequence) {
    const int64_t H = sequence.H;
    run_in_team(count + 1, blocks(H), [&](int64_t i, int64_t begin, int64_t end) {
      const int64_t s = count - 1 - i;
      const step_tiles::Carry c = sequence_carry(steps, s, b, b.grad_gates, Tensor());
      if (s < 0) return backward_blocks(c, NoUnits{}, begin, end);
      if (steps.rows(s) == 0) return;
      auto unit = sequence;
      unit.hy = sequence.hy + steps.offset(s) * H;
      unit.grad_gates = sequence.grad_gates + steps.offset(s) * H;
      backward_blocks(c, unit, begin, end);
    });
  };
  if (kind == RnnNonlinearity::Tanh) return run(RnnTanhBackwardUnit<float>(whole));
  run(RnnReluBackwardUnit<float>(whole));
}

}  // namespace seq2seq_ext
