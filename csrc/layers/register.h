// Registers the layer ops' kernels for one device; cpu/register.cpp and
// cuda/register.cpp next to this file call it inside their TORCH_LIBRARY_IMPL block.
#pragma once

#include <torch/library.h>

#include "layer_ops.h"

namespace seq2seq_ext {

template <c10::DeviceType device>
void register_layer_ops(torch::Library& m) {
  m.impl("lstm_layer", &lstm_layer<device>);
  m.impl("lstm_layer_backward", &lstm_layer_backward<device>);
  m.impl("gru_layer", &gru_layer<device>);
  m.impl("gru_layer_backward", &gru_layer_backward<device>);
  m.impl("rnn_tanh_layer", &rnn_layer<device, RnnNonlinearity::Tanh>);
  m.impl("rnn_tanh_layer_backward", &rnn_layer_backward<device, RnnNonlinearity::Tanh>);
  m.impl("rnn_relu_layer", &rnn_layer<device, RnnNonlinearity::Relu>);
  m.impl("rnn_relu_layer_backward", &rnn_layer_backward<device, RnnNonlinearity::Relu>);
}

}  // namespace seq2seq_ext
