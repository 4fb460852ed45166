// Device-independent helpers of the cell ops: biases and the GEMMs.
#include "cell_ops.h"

#include <ATen/ops/addmm.h>
#include <ATen/ops/zeros.h>

namespace seq2seq_ext {

std::pair<Tensor, Tensor> biases_or_zeros(const OptTensor& b_ih, const OptTensor& b_hh,
                                          int64_t size, const Tensor& like) {
  const auto or_zeros = [&](const OptTensor& bias) {
    return bias.has_value() ? bias->contiguous() : at::zeros({size}, like.options());
  };
  return {or_zeros(b_ih), or_zeros(b_hh)};
}

Tensor summed_gates(const Tensor& input, const Tensor& hx, const Tensor& w_ih, const Tensor& w_hh) {
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
