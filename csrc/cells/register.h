// Registers the cell ops' kernels for one device; cpu/register.cpp and
// cuda/register.cpp next to this file call it inside their TORCH_LIBRARY_IMPL block.
#pragma once

#include <torch/library.h>

#include "cell_ops.h"

namespace seq2seq_ext {

template <c10::DeviceType device>
void register_cell_ops(torch::Library& m) {
  m.impl("lstm_cell", &lstm_cell<device>);
  m.impl("lstm_cell_backward", &lstm_cell_backward<device>);
  m.impl("gru_cell", &gru_cell<device>);
  m.impl("gru_cell_backward", &gru_cell_backward<device>);
  m.impl("rnn_tanh_cell", &rnn_cell<device, RnnNonlinearity::Tanh>);
  m.impl("rnn_tanh_cell_backward", &rnn_cell_backward<device, RnnNonlinearity::Tanh>);
  m.impl("rnn_relu_cell", &rnn_cell<device, RnnNonlinearity::Relu>);
  m.impl("rnn_relu_cell_backward", &rnn_cell_backward<device, RnnNonlinearity::Relu>);
}

}  // namespace seq2seq_ext
