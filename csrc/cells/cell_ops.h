// The cell ops, written once for every device. An op validates its arguments,
// runs the GEMMs through ATen (cuBLAS / oneDNN), and hands the pointwise work to
// CellKernels<device>. register.h registers them for each device.
#pragma once

#include <ATen/DeviceGuard.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/mm.h>

#include <utility>

#include "cell_kernels.h"
#include "core/checks.h"

namespace seq2seq_ext {

// ---- shared helpers (cell_ops.cpp)

// Both biases as contiguous vectors of `size` elements; zeros for one not given.
std::pair<Tensor, Tensor> biases_or_zeros(const OptTensor& b_ih, const OptTensor& b_hh,
                                          int64_t size, const Tensor& like);
// x W_ih^T + h W_hh^T in one (B, G*H) buffer.
Tensor summed_gates(const Tensor& input, const Tensor& hx, const Tensor& w_ih, const Tensor& w_hh);

struct CellGemmGrads {
  Tensor input, hx, w_ih, w_hh, b_ih, b_hh;
};
// Backward of the two GEMMs and the biases, given the gradients of
// x W_ih^T + b_ih and of h W_hh^T + b_hh (the same tensor for LSTM / RNN).
// grad_hx_direct, if defined, is added to grad hx (the GRU's z * dh path).
// A gradient the mask leaves out is an empty tensor.
CellGemmGrads cell_gemm_backward(const Tensor& grad_xgates, const Tensor& grad_hgates,
                                 const Tensor& input, const Tensor& hx, const Tensor& w_ih,
                                 const Tensor& w_hh, const Tensor& grad_hx_direct, OutputMask mask);

// The name of each Elman RNN op, for its messages: rnn_op_name(Tanh, RnnOp::LayerBackward)
// is "rnn_tanh_layer_backward".
enum class RnnOp { Cell, CellBackward, Layer, LayerBackward };
constexpr const char* rnn_op_name(RnnNonlinearity kind, RnnOp op) {
  constexpr const char* tanh_names[] = {"rnn_tanh_cell", "rnn_tanh_cell_backward", "rnn_tanh_layer",
                                        "rnn_tanh_layer_backward"};
  constexpr const char* relu_names[] = {"rnn_relu_cell", "rnn_relu_cell_backward", "rnn_relu_layer",
                                        "rnn_relu_layer_backward"};
  return (kind == RnnNonlinearity::Tanh ? tanh_names : relu_names)[static_cast<int>(op)];
}

// ---- LSTM

template <c10::DeviceType device>
Tensor3 lstm_cell(const Tensor& input, const Tensor& hx, const Tensor& cx, const Tensor& w_ih,
                  const Tensor& w_hh, const OptTensor& b_ih, const OptTensor& b_hh) {
  check_recurrent_args(
      "lstm_cell", kLstmGates, false,
      {.input = input, .h = hx, .c = cx, .w_ih = w_ih, .w_hh = w_hh, .b_ih = b_ih, .b_hh = b_hh});
  const at::OptionalDeviceGuard guard(at::device_of(input));
  LstmForwardTensors t;
  t.gates = summed_gates(input, hx, w_ih, w_hh);
  std::tie(t.b_ih, t.b_hh) = biases_or_zeros(b_ih, b_hh, w_hh.size(0), hx);
  t.cx = cx.contiguous();
  t.hy = at::empty(cx.sizes(), cx.options());
  t.cy = at::empty(cx.sizes(), cx.options());
  t.workspace = at::empty(t.gates.sizes(), t.gates.options());
  if (t.cx.numel() > 0) CellKernels<device>::lstm_forward(t);
  return {t.hy, t.cy, t.workspace};
}

template <c10::DeviceType device>
Tensor6 lstm_cell_backward(const Tensor& grad_hy, const Tensor& grad_cy, const Tensor& input,
                           const Tensor& hx, const Tensor& cx, const Tensor& cy,
                           const Tensor& workspace, const Tensor& w_ih, const Tensor& w_hh,
                           OutputMask mask) {
  const char* op = "lstm_cell_backward";
  check_recurrent_args(op, kLstmGates, false,
                       {.input = input, .h = hx, .c = cx, .w_ih = w_ih, .w_hh = w_hh});
  check_tensor(op, "grad_hy", grad_hy, cx.sizes(), cx);
  check_tensor(op, "grad_cy", grad_cy, cx.sizes(), cx);
  check_tensor(op, "cy", cy, cx.sizes(), cx);
  check_tensor(op, "workspace", workspace, {cx.size(0), kLstmGates * cx.size(1)}, cx);
  const at::OptionalDeviceGuard guard(at::device_of(input));
  LstmBackwardTensors t;
  t.grad_hy = grad_hy.contiguous();
  t.grad_cy = grad_cy.contiguous();
  t.cx = cx.contiguous();
  t.cy = cy.contiguous();
  t.workspace = workspace.contiguous();
  t.grad_gates = at::empty(workspace.sizes(), workspace.options());
  t.grad_cx = at::empty(cx.sizes(), cx.options());
  if (t.cx.numel() > 0) CellKernels<device>::lstm_backward(t);
  const auto g = cell_gemm_backward(t.grad_gates, t.grad_gates, input, hx, w_ih, w_hh, {}, mask);
  return {g.input, g.hx, t.grad_cx, g.w_ih, g.w_hh, g.b_ih};
}

// ---- GRU

template <c10::DeviceType device>
Tensor2 gru_cell(const Tensor& input, const Tensor& hx, const Tensor& w_ih, const Tensor& w_hh,
                 const OptTensor& b_ih, const OptTensor& b_hh) {
  check_recurrent_args(
      "gru_cell", kGruGates, false,
      {.input = input, .h = hx, .w_ih = w_ih, .w_hh = w_hh, .b_ih = b_ih, .b_hh = b_hh});
  const at::OptionalDeviceGuard guard(at::device_of(input));
  GruForwardTensors t;
  t.xgates = at::mm(input, w_ih.t());
  t.hgates = at::mm(hx, w_hh.t());
  std::tie(t.b_ih, t.b_hh) = biases_or_zeros(b_ih, b_hh, w_hh.size(0), hx);
  t.hx = hx.contiguous();
  t.hy = at::empty(hx.sizes(), hx.options());
  t.workspace = at::empty({hx.size(0), kGruSaved * hx.size(1)}, hx.options());
  if (t.hx.numel() > 0) CellKernels<device>::gru_forward(t);
  return {t.hy, t.workspace};
}

template <c10::DeviceType device>
Tensor6 gru_cell_backward(const Tensor& grad_hy, const Tensor& input, const Tensor& hx,
                          const Tensor& workspace, const Tensor& w_ih, const Tensor& w_hh,
                          OutputMask mask) {
  const char* op = "gru_cell_backward";
  check_recurrent_args(op, kGruGates, false, {.input = input, .h = hx, .w_ih = w_ih, .w_hh = w_hh});
  check_tensor(op, "grad_hy", grad_hy, hx.sizes(), hx);
  check_tensor(op, "workspace", workspace, {hx.size(0), kGruSaved * hx.size(1)}, hx);
  const at::OptionalDeviceGuard guard(at::device_of(input));
  GruBackwardTensors t;
  t.grad_hy = grad_hy.contiguous();
  t.hx = hx.contiguous();
  t.workspace = workspace.contiguous();
  t.grad_xgates = at::empty({hx.size(0), kGruGates * hx.size(1)}, hx.options());
  t.grad_hgates = at::empty({hx.size(0), kGruGates * hx.size(1)}, hx.options());
  t.grad_hx_direct = at::empty(hx.sizes(), hx.options());
  if (t.hx.numel() > 0) CellKernels<device>::gru_backward(t);
  const auto g = cell_gemm_backward(t.grad_xgates, t.grad_hgates, input, hx, w_ih, w_hh,
                                    t.grad_hx_direct, mask);
  return {g.input, g.hx, g.w_ih, g.w_hh, g.b_ih, g.b_hh};
}

// ---- Elman RNN (tanh or relu)

template <c10::DeviceType device, RnnNonlinearity kind>
Tensor rnn_cell(const Tensor& input, const Tensor& hx, const Tensor& w_ih, const Tensor& w_hh,
                const OptTensor& b_ih, const OptTensor& b_hh) {
  check_recurrent_args(
      rnn_op_name(kind, RnnOp::Cell), kRnnGates, false,
      {.input = input, .h = hx, .w_ih = w_ih, .w_hh = w_hh, .b_ih = b_ih, .b_hh = b_hh});
  const at::OptionalDeviceGuard guard(at::device_of(input));
  RnnForwardTensors t;
  t.gates = summed_gates(input, hx, w_ih, w_hh);
  std::tie(t.b_ih, t.b_hh) = biases_or_zeros(b_ih, b_hh, w_hh.size(0), hx);
  t.hy = at::empty(hx.sizes(), hx.options());
  if (t.hy.numel() > 0) CellKernels<device>::rnn_forward(kind, t);
  return t.hy;
}

template <c10::DeviceType device, RnnNonlinearity kind>
Tensor5 rnn_cell_backward(const Tensor& grad_hy, const Tensor& input, const Tensor& hx,
                          const Tensor& hy, const Tensor& w_ih, const Tensor& w_hh,
                          OutputMask mask) {
  const char* op = rnn_op_name(kind, RnnOp::CellBackward);
  check_recurrent_args(op, kRnnGates, false, {.input = input, .h = hx, .w_ih = w_ih, .w_hh = w_hh});
  check_tensor(op, "grad_hy", grad_hy, hx.sizes(), hx);
  check_tensor(op, "hy", hy, hx.sizes(), hx);
  const at::OptionalDeviceGuard guard(at::device_of(input));
  RnnBackwardTensors t;
  t.grad_hy = grad_hy.contiguous();
  t.hy = hy.contiguous();
  t.grad_gates = at::empty(hx.sizes(), hx.options());
  if (t.hy.numel() > 0) CellKernels<device>::rnn_backward(kind, t);
  const auto g = cell_gemm_backward(t.grad_gates, t.grad_gates, input, hx, w_ih, w_hh, {}, mask);
  return {g.input, g.hx, g.w_ih, g.w_hh, g.b_ih};
}

}  // namespace seq2seq_ext
