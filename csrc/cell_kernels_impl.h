// Definitions of CellKernels<device>: pick the dtype, build the unit functor,
// hand it to the device's loop. Included only by the file that instantiates a
// device, after it has specialised UnitLoop<device>:
//   template <> struct UnitLoop<kDev> {
//     template <class Unit> static void run(const Unit& unit, int64_t rows, int64_t H);
//   };  // calls unit(b, j) for every b < rows, j < H
#pragma once

#include <ATen/Dispatch.h>

#include "cell_kernels.h"

namespace seq2seq_ext {

template <c10::DeviceType device>
struct UnitLoop;

template <c10::DeviceType device, template <typename> class Unit, typename Tensors>
void run_units(const Tensors& t, at::ScalarType dtype, int64_t rows, int64_t H) {
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, dtype, "seq2seq_ext_cell", [&] {
    UnitLoop<device>::run(Unit<scalar_t>(t), rows, H);
  });
}

template <typename scalar_t>
using RnnTanhForwardUnit = RnnForwardUnit<scalar_t, RnnNonlinearity::Tanh>;
template <typename scalar_t>
using RnnReluForwardUnit = RnnForwardUnit<scalar_t, RnnNonlinearity::Relu>;
template <typename scalar_t>
using RnnTanhBackwardUnit = RnnBackwardUnit<scalar_t, RnnNonlinearity::Tanh>;
template <typename scalar_t>
using RnnReluBackwardUnit = RnnBackwardUnit<scalar_t, RnnNonlinearity::Relu>;

template <c10::DeviceType device>
void CellKernels<device>::lstm_forward(const LstmForwardTensors& t) {
  run_units<device, LstmForwardUnit>(t, t.cx.scalar_type(), t.cx.size(0), t.cx.size(1));
}

template <c10::DeviceType device>
void CellKernels<device>::lstm_backward(const LstmBackwardTensors& t) {
  run_units<device, LstmBackwardUnit>(t, t.cx.scalar_type(), t.cx.size(0), t.cx.size(1));
}

template <c10::DeviceType device>
void CellKernels<device>::gru_forward(const GruForwardTensors& t) {
  run_units<device, GruForwardUnit>(t, t.hx.scalar_type(), t.hx.size(0), t.hx.size(1));
}

template <c10::DeviceType device>
void CellKernels<device>::gru_backward(const GruBackwardTensors& t) {
  run_units<device, GruBackwardUnit>(t, t.hx.scalar_type(), t.hx.size(0), t.hx.size(1));
}

template <c10::DeviceType device>
void CellKernels<device>::rnn_forward(RnnNonlinearity kind, const RnnForwardTensors& t) {
  const auto dtype = t.hy.scalar_type();
  if (kind == RnnNonlinearity::Tanh) {
    run_units<device, RnnTanhForwardUnit>(t, dtype, t.hy.size(0), t.hy.size(1));
  } else {
    run_units<device, RnnReluForwardUnit>(t, dtype, t.hy.size(0), t.hy.size(1));
  }
}

template <c10::DeviceType device>
void CellKernels<device>::rnn_backward(RnnNonlinearity kind, const RnnBackwardTensors& t) {
  const auto dtype = t.hy.scalar_type();
  if (kind == RnnNonlinearity::Tanh) {
    run_units<device, RnnTanhBackwardUnit>(t, dtype, t.hy.size(0), t.hy.size(1));
  } else {
    run_units<device, RnnReluBackwardUnit>(t, dtype, t.hy.size(0), t.hy.size(1));
  }
}

}  // namespace seq2seq_ext
