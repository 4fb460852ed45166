// The loop every cell kernel is: UnitLoop<device> calls a unit functor
// (cell_units.h) for every (batch row, hidden unit). Each device specialises
// it (cpu/cell_kernels.cpp, cuda/cell_kernels.cu):
//   template <> struct UnitLoop<kDev> {
//     template <class Unit> static void run(const Unit& unit, int64_t rows, int64_t H);
//   };  // calls unit(b, j) for every b < rows, j < H
// and this file defines CellKernels<device> on it: pick the dtype, build the
// unit, run the loop. Included only by those two files.
#pragma once

#include <ATen/Dispatch.h>

#include "cell_kernels.h"

namespace seq2seq_ext {

template <c10::DeviceType device>
struct UnitLoop;

// Runs Unit<scalar_t> over every unit of `state` (B, H), scalar_t its dtype.
template <c10::DeviceType device, template <typename> class Unit, typename Tensors>
void run_units(const Tensors& t, const Tensor& state) {
  AT_DISPATCH_FLOATING_TYPES_AND2(
      at::kHalf, at::kBFloat16, state.scalar_type(), "seq2seq_ext_cell",
      [&] { UnitLoop<device>::run(Unit<scalar_t>(t), state.size(0), state.size(1)); });
}

template <c10::DeviceType device>
void CellKernels<device>::lstm_forward(const LstmForwardTensors& t) {
  run_units<device, LstmForwardUnit>(t, t.cx);
}

template <c10::DeviceType device>
void CellKernels<device>::lstm_backward(const LstmBackwardTensors& t) {
  run_units<device, LstmBackwardUnit>(t, t.cx);
}

template <c10::DeviceType device>
void CellKernels<device>::gru_forward(const GruForwardTensors& t) {
  run_units<device, GruForwardUnit>(t, t.hx);
}

template <c10::DeviceType device>
void CellKernels<device>::gru_backward(const GruBackwardTensors& t) {
  run_units<device, GruBackwardUnit>(t, t.hx);
}

template <c10::DeviceType device>
void CellKernels<device>::rnn_forward(RnnNonlinearity kind, const RnnForwardTensors& t) {
  if (kind == RnnNonlinearity::Tanh) {
    run_units<device, RnnTanhForwardUnit>(t, t.hy);
  } else {
    run_units<device, RnnReluForwardUnit>(t, t.hy);
  }
}

template <c10::DeviceType device>
void CellKernels<device>::rnn_backward(RnnNonlinearity kind, const RnnBackwardTensors& t) {
  if (kind == RnnNonlinearity::Tanh) {
    run_units<device, RnnTanhBackwardUnit>(t, t.hy);
  } else {
    run_units<device, RnnReluBackwardUnit>(t, t.hy);
  }
}

}  // namespace seq2seq_ext
