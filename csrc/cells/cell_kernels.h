// The pointwise kernels each device provides for the cell ops.
// Declared here; defined once for all devices in unit_loop.h and
// instantiated by cpu/cell_kernels.cpp and cuda/cell_kernels.cu.
#pragma once

#include <c10/core/DeviceType.h>

#include "cell_units.h"

namespace seq2seq_ext {

template <c10::DeviceType device>
struct CellKernels {
  static void lstm_forward(const LstmForwardTensors& t);
  static void lstm_backward(const LstmBackwardTensors& t);
  static void gru_forward(const GruForwardTensors& t);
  static void gru_backward(const GruBackwardTensors& t);
  static void rnn_forward(RnnNonlinearity kind, const RnnForwardTensors& t);
  static void rnn_backward(RnnNonlinearity kind, const RnnBackwardTensors& t);
};

}  // namespace seq2seq_ext
