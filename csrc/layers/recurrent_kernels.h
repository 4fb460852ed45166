// One step of a layer's time loop: the recurrent GEMM and the cell's pointwise
// kernel. RecurrentKernels<device> runs them per step:
//   forward:  gates += h W_hh^T (the GRU: hgates = h W_hh^T), then the cell's
//             forward units;
//   backward: the carry, dh = later W_hh (+ the GRU's direct part), where
//             `later` holds the gate gradients of the step after this one,
//             then dh += this step's output gradient, then the backward units.
//
// and over a layer's whole time loop (lstm_sequence, ...: the forward of every
// step, in the packed layout of packed_steps.h), which layer_ops.h calls.
//
// The ATen path (aten_* below; CUDA, and the CPU for dtypes other than float32)
// runs one ATen GEMM over all hidden units, then CellKernels<device> over all
// units, step after step (*_steps below). The CPU has its own class
// (cpu/recurrent_kernels.h): it splits the hidden units into blocks shared
// among its threads, and per block runs the GEMM of the block's gate columns,
// then at once the block's units, while the gates are in cache; over a whole
// sequence its threads keep their blocks and meet once per step.
#pragma once

#include <ATen/ops/addmm.h>
#include <ATen/ops/mm.h>

#include "cells/cell_kernels.h"
#include "core/reduced_linear.h"
#include "packed_steps.h"

namespace seq2seq_ext {

// Which pass a RecurrentKernels serves: the CPU packs W_hh for it.
enum class Pass { Forward, Backward };

// A layer's forward over all its steps, in the packed layout: the tensors of
// every step (N rows), contiguous. xgates (N, G*H) holds x W_ih^T; the LSTM and
// the RNN build their gates in it (the LSTM's become its workspace).
struct LayerForward {
  Tensor xgates, bias_ih, bias_hh;
  Tensor h0, c0;       // the initial state (c0: LSTM)
  Tensor output;       // (N, P): every step's h
  Tensor cells;        // LSTM: (N, H), every step's c
  Tensor unprojected;  // LSTM with w_hr: (N, H), h before the projection
  OptTensor w_hr;
  Tensor workspace;  // GRU: (N, 4H)
  Tensor hgates;     // GRU: (rows of step 0, 3H), a step's h W_hh^T
};

// A layer's backward over all its steps, from the last to the first: the
// tensors of every step (N rows) and of the carried state gradients (B rows),
// contiguous. dh, dc start as grad_hy, grad_cy and end as the initial state's
// gradients.
struct LayerBackward {
  Tensor grad_output;                       // (N, P)
  Tensor dh, dc;                            // (B, P), LSTM: (B, H)
  Tensor h0, c0, output, cells, workspace;  // the forward's (c0, cells: LSTM)
  Tensor grad_gates;         // written: LSTM, RNN (N, G*H); GRU: of its x-side (N, 3H)
  Tensor grad_hgates;        // GRU: (N, 3H), of its h-side
  Tensor direct;             // GRU: (B, H), a step's dh through z * h
  OptTensor w_hr;            // LSTM with proj_size:
  Tensor grad_output_total;  //   (N, P), dh before the projection's backward
};

template <c10::DeviceType device>
class RecurrentKernels;
template <c10::DeviceType device>
void lstm_backward_steps(const RecurrentKernels<device>& recurrence, const PackedSteps& steps,
                         const LayerBackward& b);
template <c10::DeviceType device>
void gru_backward_steps(const RecurrentKernels<device>& recurrence, const PackedSteps& steps,
                        const LayerBackward& b);
template <c10::DeviceType device>
void rnn_backward_steps(const RecurrentKernels<device>& recurrence, RnnNonlinearity kind,
                        const PackedSteps& steps, const LayerBackward& b);
template <c10::DeviceType device>
void lstm_steps(const RecurrentKernels<device>& recurrence, const PackedSteps& steps,
                const LayerForward& f);
template <c10::DeviceType device>
void gru_steps(const RecurrentKernels<device>& recurrence, const PackedSteps& steps,
               const LayerForward& f);
template <c10::DeviceType device>
void rnn_steps(const RecurrentKernels<device>& recurrence, RnnNonlinearity kind,
               const PackedSteps& steps, const LayerForward& f);

// ---- the ATen path

template <c10::DeviceType device>
void aten_lstm_forward(const Tensor& w_hh, const LstmForwardTensors& t, const Tensor& h) {
  t.gates.addmm_(h, w_hh.t());
  CellKernels<device>::lstm_forward(t);
}

template <c10::DeviceType device>
void aten_gru_forward(const Tensor& w_hh, const GruForwardTensors& t, const Tensor& h) {
  Tensor hgates = t.hgates;  // at::mm_out takes a non-const output
  at::mm_out(hgates, h, w_hh.t());
  CellKernels<device>::gru_forward(t);
}

template <c10::DeviceType device>
void aten_rnn_forward(const Tensor& w_hh, RnnNonlinearity kind, const RnnForwardTensors& t,
                      const Tensor& h) {
  t.gates.addmm_(h, w_hh.t());
  CellKernels<device>::rnn_forward(kind, t);
}

// dh[:later rows] = later W_hh (+ later_direct); then dh[:grad_output rows] +=
// grad_output. Any of later, later_direct, grad_output may be undefined.
inline void aten_carry(const Tensor& w_hh, const Tensor& dh, const Tensor& later,
                       const Tensor& later_direct, const Tensor& grad_output) {
  if (later.defined()) {
    Tensor rows = dh.narrow(0, 0, later.size(0));
    if (later_direct.defined()) {
      at::addmm_out(rows, later_direct, later, w_hh);
    } else {
      at::mm_out(rows, later, w_hh);
    }
  }
  if (grad_output.defined()) dh.narrow(0, 0, grad_output.size(0)).add_(grad_output);
}

// A backward step: the carry, then the backward units.
template <c10::DeviceType device>
void aten_lstm_backward(const Tensor& w_hh, const LstmBackwardTensors& t, const Tensor& dh,
                        const Tensor& later, const Tensor& grad_output) {
  aten_carry(w_hh, dh, later, Tensor(), grad_output);
  CellKernels<device>::lstm_backward(t);
}

template <c10::DeviceType device>
void aten_gru_backward(const Tensor& w_hh, const GruBackwardTensors& t, const Tensor& dh,
                       const Tensor& later, const Tensor& later_direct, const Tensor& grad_output) {
  aten_carry(w_hh, dh, later, later_direct, grad_output);
  CellKernels<device>::gru_backward(t);
}

template <c10::DeviceType device>
void aten_rnn_backward(const Tensor& w_hh, RnnNonlinearity kind, const RnnBackwardTensors& t,
                       const Tensor& dh, const Tensor& later, const Tensor& grad_output) {
  aten_carry(w_hh, dh, later, Tensor(), grad_output);
  CellKernels<device>::rnn_backward(kind, t);
}

// ---- the kernels of a step, per device

template <c10::DeviceType device>
class RecurrentKernels {
 public:
  // rows: the most batch rows a step has (the CPU picks its kernels by it);
  // reduced: W_hh is (core/reduced_linear.h; on the CPU only), scale: an int8 one's.
  RecurrentKernels(const Tensor& w_hh, int64_t /*gates*/, Pass /*pass*/, int64_t /*rows*/,
                   bool reduced = false, const Tensor& /*scale*/ = {})
      : w_hh_(w_hh) {
    TORCH_CHECK(!reduced, "reduced-precision weights run on the CPU only");
  }

  // t.gates (t.hgates for the GRU) are the step's rows; h the state it reads.
  void lstm_forward(const LstmForwardTensors& t, const Tensor& h) const {
    aten_lstm_forward<device>(w_hh_, t, h);
  }
  void gru_forward(const GruForwardTensors& t, const Tensor& h) const {
    aten_gru_forward<device>(w_hh_, t, h);
  }
  void rnn_forward(RnnNonlinearity kind, const RnnForwardTensors& t, const Tensor& h) const {
    aten_rnn_forward<device>(w_hh_, kind, t, h);
  }

  // Every step of a layer's forward.
  void lstm_sequence(const PackedSteps& steps, const LayerForward& f) const {
    lstm_steps(*this, steps, f);
  }
  void gru_sequence(const PackedSteps& steps, const LayerForward& f) const {
    gru_steps(*this, steps, f);
  }
  void rnn_sequence(RnnNonlinearity kind, const PackedSteps& steps, const LayerForward& f) const {
    rnn_steps(*this, kind, steps, f);
  }
  // Every step of a layer's backward, and the carry into the initial state.
  void lstm_backward_sequence(const PackedSteps& steps, const LayerBackward& b) const {
    lstm_backward_steps(*this, steps, b);
  }
  void gru_backward_sequence(const PackedSteps& steps, const LayerBackward& b) const {
    gru_backward_steps(*this, steps, b);
  }
  void rnn_backward_sequence(RnnNonlinearity kind, const PackedSteps& steps,
                             const LayerBackward& b) const {
    rnn_backward_steps(*this, kind, steps, b);
  }

  // dh: the state gradient carried back in time, (B, size of h); t.grad_hy is
  // its first rows.
  void carry(const Tensor& dh, const Tensor& later, const Tensor& later_direct,
             const Tensor& grad_output) const {
    aten_carry(w_hh_, dh, later, later_direct, grad_output);
  }
  void lstm_backward(const LstmBackwardTensors& t, const Tensor& dh, const Tensor& later,
                     const Tensor& grad_output) const {
    aten_lstm_backward<device>(w_hh_, t, dh, later, grad_output);
  }
  void gru_backward(const GruBackwardTensors& t, const Tensor& dh, const Tensor& later,
                    const Tensor& later_direct, const Tensor& grad_output) const {
    aten_gru_backward<device>(w_hh_, t, dh, later, later_direct, grad_output);
  }
  void rnn_backward(RnnNonlinearity kind, const RnnBackwardTensors& t, const Tensor& dh,
                    const Tensor& later, const Tensor& grad_output) const {
    aten_rnn_backward<device>(w_hh_, kind, t, dh, later, grad_output);
  }

 private:
  Tensor w_hh_;
};

}  // namespace seq2seq_ext

#include "layers/cpu/recurrent_kernels.h"  // RecurrentKernels<c10::kCPU>
#include "layers/time_loops.h"             // the step helpers and the generic time loops
