// Registers every op's kernels for one device; cpu/register.cpp and
// cuda/register.cpp call it inside their TORCH_LIBRARY_IMPL block.
#pragma once

#include <torch/library.h>

#include "attention_ops.h"
#include "cell_ops.h"
#include "decode_ops.h"
#include "layer_ops.h"
#include "reduced_linear.h"
#include "stepwise_pass_backward.h"

namespace seq2seq_ext {

template <c10::DeviceType device>
void register_ops(torch::Library& m) {
  m.impl("lstm_cell", &lstm_cell<device>);
  m.impl("lstm_cell_backward", &lstm_cell_backward<device>);
  m.impl("gru_cell", &gru_cell<device>);
  m.impl("gru_cell_backward", &gru_cell_backward<device>);
  m.impl("rnn_tanh_cell", &rnn_cell<device, RnnNonlinearity::Tanh>);
  m.impl("rnn_tanh_cell_backward", &rnn_cell_backward<device, RnnNonlinearity::Tanh>);
  m.impl("rnn_relu_cell", &rnn_cell<device, RnnNonlinearity::Relu>);
  m.impl("rnn_relu_cell_backward", &rnn_cell_backward<device, RnnNonlinearity::Relu>);

  m.impl("lstm_layer", &lstm_layer<device>);
  m.impl("lstm_layer_backward", &lstm_layer_backward<device>);
  m.impl("gru_layer", &gru_layer<device>);
  m.impl("gru_layer_backward", &gru_layer_backward<device>);
  m.impl("rnn_tanh_layer", &rnn_layer<device, RnnNonlinearity::Tanh>);
  m.impl("rnn_tanh_layer_backward", &rnn_layer_backward<device, RnnNonlinearity::Tanh>);
  m.impl("rnn_relu_layer", &rnn_layer<device, RnnNonlinearity::Relu>);
  m.impl("rnn_relu_layer_backward", &rnn_layer_backward<device, RnnNonlinearity::Relu>);

  m.impl("masked_softmax", &masked_softmax<device>);
  m.impl("masked_softmax_backward", &masked_softmax_backward<device>);
  m.impl("bahdanau_attention", &bahdanau_attention<device>);
  m.impl("bahdanau_attention_backward", &bahdanau_attention_backward<device>);
  m.impl("luong_attention", &luong_attention<device>);
  m.impl("luong_attention_backward", &luong_attention_backward<device>);

  m.impl("reduced_linear", &reduced_linear);  // on CUDA, a clear error
  m.impl("greedy_decode", &greedy_decode<device>);
  m.impl("beam_search", &beam_search<device>);
  m.impl("decoder_stepwise_pass", &decoder_stepwise_pass<device>);
  m.impl("decoder_stepwise_pass_backward", &decoder_stepwise_pass_backward<device>);
}

}  // namespace seq2seq_ext
