// The schemas of the layer ops (one direction of one LSTM, GRU or Elman RNN
// layer over every step of a packed batch). Their kernels are registered per
// device in cpu/register.cpp and cuda/register.cpp next to this file; what
// every op returns and takes (workspace, output_mask): core/library.cpp.
#include <torch/library.h>

#include "cpu/packed_weights.h"

TORCH_LIBRARY_FRAGMENT(seq2seq_ext, m) {
  // The CPU's cache of packed W_hh copies (cpu/packed_weights.h): {copies
  // held, copies made, calls served from the cache} since the library loaded.
  m.def("packed_weight_cache() -> int[]", &seq2seq_ext::packed_weight_cache_counts);
  // Empties that cache (after an optimizer's step: _ops/layers.py).
  m.def("clear_packed_weights() -> ()", &seq2seq_ext::clear_packed_weights);

  // Whole layers: one direction, all steps, the packed layout of layer_ops.h
  // (input (N, I) and batch_sizes (T,) int64 on the CPU). The forward ops also
  // return what their backward reads: LSTM the cell states (N, H), the
  // activated gates (workspace, (N, 4H)) and, with w_hr (proj_size), the output
  // before the projection; GRU its workspace (N, 4H) as the cell's.
  m.def(
      "lstm_layer(Tensor input, Tensor batch_sizes, Tensor h0, Tensor c0, Tensor w_ih, "
      "Tensor w_hh, Tensor? b_ih=None, Tensor? b_hh=None, Tensor? w_hr=None) -> (Tensor output, "
      "Tensor hy, Tensor cy, Tensor cells, Tensor workspace, Tensor unprojected)");
  m.def(
      "lstm_layer_backward(Tensor grad_output, Tensor grad_hy, Tensor grad_cy, Tensor input, "
      "Tensor batch_sizes, Tensor h0, Tensor c0, Tensor w_ih, Tensor w_hh, Tensor? w_hr, "
      "Tensor output, Tensor cells, Tensor workspace, Tensor unprojected, bool[3] output_mask) -> "
      "(Tensor grad_input, Tensor grad_h0, Tensor grad_c0, Tensor grad_w_ih, Tensor grad_w_hh, "
      "Tensor grad_bias, Tensor grad_w_hr)");
  m.def(
      "gru_layer(Tensor input, Tensor batch_sizes, Tensor h0, Tensor w_ih, Tensor w_hh, "
      "Tensor? b_ih=None, Tensor? b_hh=None) -> (Tensor output, Tensor hy, Tensor workspace)");
  m.def(
      "gru_layer_backward(Tensor grad_output, Tensor grad_hy, Tensor input, Tensor batch_sizes, "
      "Tensor h0, Tensor w_ih, Tensor w_hh, Tensor output, Tensor workspace, bool[3] output_mask) "
      "-> (Tensor grad_input, Tensor grad_h0, Tensor grad_w_ih, Tensor grad_w_hh, "
      "Tensor grad_b_ih, Tensor grad_b_hh)");
  m.def(
      "rnn_tanh_layer(Tensor input, Tensor batch_sizes, Tensor h0, Tensor w_ih, Tensor w_hh, "
      "Tensor? b_ih=None, Tensor? b_hh=None) -> (Tensor output, Tensor hy)");
  m.def(
      "rnn_tanh_layer_backward(Tensor grad_output, Tensor grad_hy, Tensor input, "
      "Tensor batch_sizes, Tensor h0, Tensor w_ih, Tensor w_hh, Tensor output, "
      "bool[3] output_mask) -> (Tensor grad_input, Tensor grad_h0, Tensor grad_w_ih, "
      "Tensor grad_w_hh, Tensor grad_bias)");
  m.def(
      "rnn_relu_layer(Tensor input, Tensor batch_sizes, Tensor h0, Tensor w_ih, Tensor w_hh, "
      "Tensor? b_ih=None, Tensor? b_hh=None) -> (Tensor output, Tensor hy)");
  m.def(
      "rnn_relu_layer_backward(Tensor grad_output, Tensor grad_hy, Tensor input, "
      "Tensor batch_sizes, Tensor h0, Tensor w_ih, Tensor w_hh, Tensor output, "
      "bool[3] output_mask) -> (Tensor grad_input, Tensor grad_h0, Tensor grad_w_ih, "
      "Tensor grad_w_hh, Tensor grad_bias)");
}
