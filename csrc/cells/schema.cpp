// The schemas of the cell ops (one step of an LSTM, GRU or Elman RNN cell).
// Their kernels are registered per device in cpu/register.cpp and
// cuda/register.cpp next to this file; what every op returns and takes
// (workspace, output_mask): core/library.cpp.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(seq2seq_ext, m) {
  // LSTM cell. workspace (B, 4H): the activated gates i, f, g, o.
  m.def(
      "lstm_cell(Tensor input, Tensor hx, Tensor cx, Tensor w_ih, Tensor w_hh, "
      "Tensor? b_ih=None, Tensor? b_hh=None) -> (Tensor hy, Tensor cy, Tensor workspace)");
  m.def(
      "lstm_cell_backward(Tensor grad_hy, Tensor grad_cy, Tensor input, Tensor hx, Tensor cx, "
      "Tensor cy, Tensor workspace, Tensor w_ih, Tensor w_hh, bool[3] output_mask) -> "
      "(Tensor grad_input, Tensor grad_hx, Tensor grad_cx, Tensor grad_w_ih, Tensor grad_w_hh, "
      "Tensor grad_bias)");

  // GRU cell. workspace (B, 4H): r, z, n and hn = W_hn h + b_hn.
  m.def(
      "gru_cell(Tensor input, Tensor hx, Tensor w_ih, Tensor w_hh, Tensor? b_ih=None, "
      "Tensor? b_hh=None) -> (Tensor hy, Tensor workspace)");
  m.def(
      "gru_cell_backward(Tensor grad_hy, Tensor input, Tensor hx, Tensor workspace, Tensor w_ih, "
      "Tensor w_hh, bool[3] output_mask) -> (Tensor grad_input, Tensor grad_hx, Tensor grad_w_ih, "
      "Tensor grad_w_hh, Tensor grad_b_ih, Tensor grad_b_hh)");

  // Elman RNN cells. The backward needs only the output hy.
  m.def(
      "rnn_tanh_cell(Tensor input, Tensor hx, Tensor w_ih, Tensor w_hh, Tensor? b_ih=None, "
      "Tensor? b_hh=None) -> Tensor");
  m.def(
      "rnn_tanh_cell_backward(Tensor grad_hy, Tensor input, Tensor hx, Tensor hy, Tensor w_ih, "
      "Tensor w_hh, bool[3] output_mask) -> (Tensor grad_input, Tensor grad_hx, Tensor grad_w_ih, "
      "Tensor grad_w_hh, Tensor grad_bias)");
  m.def(
      "rnn_relu_cell(Tensor input, Tensor hx, Tensor w_ih, Tensor w_hh, Tensor? b_ih=None, "
      "Tensor? b_hh=None) -> Tensor");
  m.def(
      "rnn_relu_cell_backward(Tensor grad_hy, Tensor input, Tensor hx, Tensor hy, Tensor w_ih, "
      "Tensor w_hh, bool[3] output_mask) -> (Tensor grad_input, Tensor grad_hx, Tensor grad_w_ih, "
      "Tensor grad_w_hh, Tensor grad_bias)");
}
