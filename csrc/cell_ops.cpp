// Device-independent helpers of the cell ops: argument checks and the GEMMs.
#include "cell_ops.h"

#include <ATen/ops/addmm.h>
#include <ATen/ops/zeros.h>

namespace seq2seq_ext {

void check_cell_args(const char* op, int64_t num_gates, const Tensor& input, const Tensor& hx,
                     const Tensor* cx, const Tensor& w_ih, const Tensor& w_hh,
                     const OptTensor& b_ih, const OptTensor& b_hh) {
  TORCH_CHECK(at::isFloatingType(input.scalar_type()), op,
              ": expected a floating-point input, got ", input.scalar_type());
  TORCH_CHECK(input.dim() == 2, op, ": expected input of shape (batch, input_size), got a ",
              input.dim(), "-D tensor of shape ", input.sizes());
  TORCH_CHECK(w_hh.dim() == 2 && w_hh.size(0) == num_gates * w_hh.size(1), op,
              ": expected w_hh of shape (", num_gates, " * hidden_size, hidden_size), got ",
              w_hh.sizes());
  TORCH_CHECK(w_ih.dim() == 2, op, ": expected w_ih of shape (", num_gates,
              " * hidden_size, input_size), got ", w_ih.sizes());
  const int64_t batch = input.size(0), input_size = w_ih.size(1), hidden = w_hh.size(1);
  check_tensor(op, "w_hh", w_hh, {num_gates * hidden, hidden}, input);
  check_tensor(op, "w_ih", w_ih, {num_gates * hidden, input_size}, input);
  check_tensor(op, "input", input, {batch, input_size}, input);
  check_tensor(op, "hx", hx, {batch, hidden}, input);
  if (cx != nullptr) check_tensor(op, "cx", *cx, {batch, hidden}, input);
  if (b_ih.has_value()) check_tensor(op, "b_ih", *b_ih, {num_gates * hidden}, input);
  if (b_hh.has_value()) check_tensor(op, "b_hh", *b_hh, {num_gates * hidden}, input);
}

std::pair<Tensor, Tensor> biases_or_zeros(const OptTensor& b_ih, const OptTensor& b_hh,
                                          int64_t size, const Tensor& like) {
  const auto or_zeros = [&](const OptTensor& bias) {
    return bias.has_value() ? bias->contiguous() : at::zeros({size}, like.options());
  };
  return {or_zeros(b_ih), or_zeros(b_hh)};
}

Tensor summed_gates(const Tensor& input, const Tensor& hx, const Tensor& w_ih,
                    const Tensor& w_hh) {
  Tensor gates = at::mm(input, w_ih.t());
  gates.addmm_(hx, w_hh.t());
  return gates;
}

CellGemmGrads cell_gemm_backward(const Tensor& grad_xgates, const Tensor& grad_hgates,
                                 const Tensor& input, const Tensor& hx, const Tensor& w_ih,
                                 const Tensor& w_hh, const Tensor& grad_hx_direct,
                                 OutputMask mask) {
  const auto [want_input, want_hx, want_weights] = mask;
  const auto none = [&] { return at::empty({0}, input.options()); };  // one per output
  CellGemmGrads g;
  g.input = want_input ? at::mm(grad_xgates, w_ih) : none();
  if (!want_hx) {
    g.hx = none();
  } else if (grad_hx_direct.defined()) {
    g.hx = at::addmm(grad_hx_direct, grad_hgates, w_hh);
  } else {
    g.hx = at::mm(grad_hgates, w_hh);
  }
  g.w_ih = want_weights ? at::mm(grad_xgates.t(), input) : none();
  g.w_hh = want_weights ? at::mm(grad_hgates.t(), hx) : none();
  g.b_ih = want_weights ? grad_xgates.sum(0) : none();
  // LSTM and RNN pass one tensor for both gate gradients and return only b_ih.
  const bool separate_bias_grads = !grad_hgates.is_same(grad_xgates);
  g.b_hh = want_weights && separate_bias_grads ? grad_hgates.sum(0) : none();
  return g;
}

}  // namespace seq2seq_ext
