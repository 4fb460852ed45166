// Whole-layer recurrent ops: one direction of one layer over all time steps,
// forward and backward, with the time loop in C++. Written once for every
// device: the all-steps GEMMs go through ATen; each step's recurrent GEMM and
// pointwise work are RecurrentKernels<device> (recurrent_kernels.h), so no
// per-step Python.
//
// Layout: the packed layout of torch.nn.utils.rnn.PackedSequence. The input is
// (N, I) with the rows of step s stored at [offset_s, offset_s + batch_sizes[s]),
// batch_sizes non-increasing (sequences sorted by length, longest first), so at
// step s exactly the first batch_sizes[s] sequences are running and every
// per-step slice is contiguous. A padded (T, B, I) input is the case
// batch_sizes = [B] * T. The reverse direction of a bidirectional layer runs
// these ops on the sequences reversed (see seq2seq_ext/nn/fused_vf.py).
//
// Saved for the backward, per sequence and step (beyond the output): LSTM the
// activated gates (4H) and the cell state (H), plus H before the projection
// with proj_size; GRU r, z, n and W_hn h + b_hn (4H); RNN nothing.
#pragma once

#include "cells/cell_ops.h"
#include "core/buffers.h"
#include "recurrent_kernels.h"

namespace seq2seq_ext {

// After the time loop of a backward op: the gradients of the input and of
// the weights and biases, one GEMM each over all steps (the state gradients
// came from the loop, so none for hx). grad_xgates and grad_hgates as in
// cell_gemm_backward; `output` holds every step's state, h0 the initial one.
CellGemmGrads layer_gemm_backward(const PackedSteps& steps, const Tensor& grad_xgates,
                                  const Tensor& grad_hgates, const Tensor& input,
                                  const Tensor& output, const Tensor& h0, const Tensor& w_ih,
                                  const Tensor& w_hh, OutputMask mask);

// Every step's input projection x W_ih^T, in one GEMM.
template <c10::DeviceType device>
Tensor input_projection(const Tensor& input, const Tensor& w_ih) {
  Tensor xgates = empty_buffer<device>({input.size(0), w_ih.size(0)}, input.options());
  at::mm_out(xgates, input, w_ih.t());
  return xgates;
}

// ---- LSTM

template <c10::DeviceType device>
Tensor6 lstm_layer(const Tensor& input, const Tensor& batch_sizes, const Tensor& h0,
                   const Tensor& c0, const Tensor& w_ih, const Tensor& w_hh, const OptTensor& b_ih,
                   const OptTensor& b_hh, const OptTensor& w_hr) {
  check_recurrent_args("lstm_layer", kLstmGates, true,
                       {.input = input,
                        .h = h0,
                        .c = c0,
                        .w_ih = w_ih,
                        .w_hh = w_hh,
                        .b_ih = b_ih,
                        .b_hh = b_hh,
                        .w_hr = w_hr});
  const at::OptionalDeviceGuard guard(at::device_of(input));
  const PackedSteps steps("lstm_layer", batch_sizes, input.size(0), h0.size(0));
  const int64_t N = input.size(0), H = c0.size(1), P = h0.size(1);
  const bool projected = w_hr.has_value();
  const Tensor h0c = h0.contiguous(), c0c = c0.contiguous();
  // Every step's input projection in one GEMM; each step adds h W_hh^T to its rows.
  // The units overwrite a step's gates with the activated ones (each unit reads
  // its four gates before it writes them), so the gates become the workspace.
  Tensor gates = input_projection<device>(input, w_ih);
  Tensor cells = empty_buffer<device>({N, H}, c0.options());
  Tensor output = empty_buffer<device>({N, P}, h0.options());
  Tensor unprojected = empty_buffer<device>({projected ? N : 0, H}, c0.options());
  const auto [bias_ih, bias_hh] = biases_or_zeros(b_ih, b_hh, w_hh.size(0), h0);
  const RecurrentKernels<device> recurrence(w_hh, kLstmGates, Pass::Forward, h0.size(0));
  recurrence.lstm_sequence(steps, {.xgates = gates,
                                   .bias_ih = bias_ih,
                                   .bias_hh = bias_hh,
                                   .h0 = h0c,
                                   .c0 = c0c,
                                   .output = output,
                                   .cells = cells,
                                   .unprojected = unprojected,
                                   .w_hr = w_hr});
  return {output,     steps.final_states(output, h0c), steps.final_states(cells, c0c), cells, gates,
          unprojected};
}

template <c10::DeviceType device>
Tensor7 lstm_layer_backward(const Tensor& grad_output, const Tensor& grad_hy, const Tensor& grad_cy,
                            const Tensor& input, const Tensor& batch_sizes, const Tensor& h0,
                            const Tensor& c0, const Tensor& w_ih, const Tensor& w_hh,
                            const OptTensor& w_hr, const Tensor& output, const Tensor& cells,
                            const Tensor& workspace, const Tensor& unprojected, OutputMask mask) {
  const char* op = "lstm_layer_backward";
  check_recurrent_args(
      op, kLstmGates, true,
      {.input = input, .h = h0, .c = c0, .w_ih = w_ih, .w_hh = w_hh, .w_hr = w_hr});
  const int64_t N = input.size(0), H = c0.size(1), P = h0.size(1);
  const bool projected = w_hr.has_value();
  check_tensor(op, "grad_output", grad_output, {N, P}, h0);
  check_tensor(op, "grad_hy", grad_hy, h0.sizes(), h0);
  check_tensor(op, "grad_cy", grad_cy, c0.sizes(), c0);
  check_tensor(op, "output", output, {N, P}, h0);
  check_tensor(op, "cells", cells, {N, H}, c0);
  check_tensor(op, "workspace", workspace, {N, kLstmGates * H}, c0);
  check_tensor(op, "unprojected", unprojected, {projected ? N : 0, H}, c0);
  const at::OptionalDeviceGuard guard(at::device_of(input));
  const PackedSteps steps(op, batch_sizes, N, h0.size(0));
  const Tensor h0c = h0.contiguous(), c0c = c0.contiguous(), grad_out = grad_output.contiguous();
  const Tensor cells_c = cells.contiguous(), workspace_c = workspace.contiguous();
  // dh, dc: the gradient reaching each sequence's state, carried back in time.
  Tensor dh = grad_hy.contiguous().clone(), dc = grad_cy.contiguous().clone();
  Tensor grad_gates = empty_buffer<device>({N, kLstmGates * H}, c0.options());
  Tensor grad_output_total = empty_buffer<device>({projected ? N : 0, P}, h0.options());  // W_hr
  const RecurrentKernels<device> recurrence(w_hh, kLstmGates, Pass::Backward, h0.size(0));
  recurrence.lstm_backward_sequence(steps, {.grad_output = grad_out,
                                            .dh = dh,
                                            .dc = dc,
                                            .h0 = h0c,
                                            .c0 = c0c,
                                            .cells = cells_c,
                                            .workspace = workspace_c,
                                            .grad_gates = grad_gates,
                                            .w_hr = w_hr,
                                            .grad_output_total = grad_output_total});
  const auto g = layer_gemm_backward(steps, grad_gates, grad_gates, input, output.contiguous(), h0c,
                                     w_ih, w_hh, mask);
  Tensor grad_w_hr = projected && mask[2] ? at::mm(grad_output_total.t(), unprojected)
                                          : at::empty({0}, h0.options());
  return {g.input, dh, dc, g.w_ih, g.w_hh, g.b_ih, grad_w_hr};
}

// ---- GRU

template <c10::DeviceType device>
Tensor3 gru_layer(const Tensor& input, const Tensor& batch_sizes, const Tensor& h0,
                  const Tensor& w_ih, const Tensor& w_hh, const OptTensor& b_ih,
                  const OptTensor& b_hh) {
  check_recurrent_args(
      "gru_layer", kGruGates, true,
      {.input = input, .h = h0, .w_ih = w_ih, .w_hh = w_hh, .b_ih = b_ih, .b_hh = b_hh});
  const at::OptionalDeviceGuard guard(at::device_of(input));
  const PackedSteps steps("gru_layer", batch_sizes, input.size(0), h0.size(0));
  const int64_t N = input.size(0), H = h0.size(1);
  const Tensor h0c = h0.contiguous();
  const Tensor xgates = input_projection<device>(input, w_ih);
  Tensor output = empty_buffer<device>({N, H}, h0.options());
  Tensor workspace = empty_buffer<device>({N, kGruSaved * H}, h0.options());
  Tensor hgates = at::empty({h0.size(0), kGruGates * H}, h0.options());  // h W_hh^T of a step
  const auto [bias_ih, bias_hh] = biases_or_zeros(b_ih, b_hh, w_hh.size(0), h0);
  const RecurrentKernels<device> recurrence(w_hh, kGruGates, Pass::Forward, h0.size(0));
  recurrence.gru_sequence(steps, {.xgates = xgates,
                                  .bias_ih = bias_ih,
                                  .bias_hh = bias_hh,
                                  .h0 = h0c,
                                  .output = output,
                                  .workspace = workspace,
                                  .hgates = hgates});
  return {output, steps.final_states(output, h0c), workspace};
}

template <c10::DeviceType device>
Tensor6 gru_layer_backward(const Tensor& grad_output, const Tensor& grad_hy, const Tensor& input,
                           const Tensor& batch_sizes, const Tensor& h0, const Tensor& w_ih,
                           const Tensor& w_hh, const Tensor& output, const Tensor& workspace,
                           OutputMask mask) {
  const char* op = "gru_layer_backward";
  check_recurrent_args(op, kGruGates, true, {.input = input, .h = h0, .w_ih = w_ih, .w_hh = w_hh});
  const int64_t N = input.size(0), H = h0.size(1);
  check_tensor(op, "grad_output", grad_output, {N, H}, h0);
  check_tensor(op, "grad_hy", grad_hy, h0.sizes(), h0);
  check_tensor(op, "output", output, {N, H}, h0);
  check_tensor(op, "workspace", workspace, {N, kGruSaved * H}, h0);
  const at::OptionalDeviceGuard guard(at::device_of(input));
  const PackedSteps steps(op, batch_sizes, N, h0.size(0));
  const Tensor h0c = h0.contiguous(), grad_out = grad_output.contiguous();
  const Tensor output_c = output.contiguous(), workspace_c = workspace.contiguous();
  Tensor dh = grad_hy.contiguous().clone();
  Tensor grad_xgates = empty_buffer<device>({N, kGruGates * H}, h0.options());
  Tensor grad_hgates = empty_buffer<device>({N, kGruGates * H}, h0.options());
  Tensor direct = at::empty({h0.size(0), H}, h0.options());  // grad_hx_direct of a step
  const RecurrentKernels<device> recurrence(w_hh, kGruGates, Pass::Backward, h0.size(0));
  recurrence.gru_backward_sequence(steps, {.grad_output = grad_out,
                                           .dh = dh,
                                           .h0 = h0c,
                                           .output = output_c,
                                           .workspace = workspace_c,
                                           .grad_gates = grad_xgates,
                                           .grad_hgates = grad_hgates,
                                           .direct = direct});
  const auto g =
      layer_gemm_backward(steps, grad_xgates, grad_hgates, input, output_c, h0c, w_ih, w_hh, mask);
  return {g.input, dh, g.w_ih, g.w_hh, g.b_ih, g.b_hh};
}

// ---- Elman RNN (tanh or relu)

template <c10::DeviceType device, RnnNonlinearity kind>
Tensor2 rnn_layer(const Tensor& input, const Tensor& batch_sizes, const Tensor& h0,
                  const Tensor& w_ih, const Tensor& w_hh, const OptTensor& b_ih,
                  const OptTensor& b_hh) {
  const char* op = rnn_op_name(kind, RnnOp::Layer);
  check_recurrent_args(
      op, kRnnGates, true,
      {.input = input, .h = h0, .w_ih = w_ih, .w_hh = w_hh, .b_ih = b_ih, .b_hh = b_hh});
  const at::OptionalDeviceGuard guard(at::device_of(input));
  const PackedSteps steps(op, batch_sizes, input.size(0), h0.size(0));
  const Tensor h0c = h0.contiguous();
  Tensor xgates = input_projection<device>(input, w_ih);
  Tensor output = empty_buffer<device>({input.size(0), h0.size(1)}, h0.options());
  const auto [bias_ih, bias_hh] = biases_or_zeros(b_ih, b_hh, w_hh.size(0), h0);
  const RecurrentKernels<device> recurrence(w_hh, kRnnGates, Pass::Forward, h0.size(0));
  recurrence.rnn_sequence(
      kind, steps,
      {.xgates = xgates, .bias_ih = bias_ih, .bias_hh = bias_hh, .h0 = h0c, .output = output});
  return {output, steps.final_states(output, h0c)};
}

template <c10::DeviceType device, RnnNonlinearity kind>
Tensor5 rnn_layer_backward(const Tensor& grad_output, const Tensor& grad_hy, const Tensor& input,
                           const Tensor& batch_sizes, const Tensor& h0, const Tensor& w_ih,
                           const Tensor& w_hh, const Tensor& output, OutputMask mask) {
  const char* op = rnn_op_name(kind, RnnOp::LayerBackward);
  check_recurrent_args(op, kRnnGates, true, {.input = input, .h = h0, .w_ih = w_ih, .w_hh = w_hh});
  const int64_t N = input.size(0), H = h0.size(1);
  check_tensor(op, "grad_output", grad_output, {N, H}, h0);
  check_tensor(op, "grad_hy", grad_hy, h0.sizes(), h0);
  check_tensor(op, "output", output, {N, H}, h0);
  const at::OptionalDeviceGuard guard(at::device_of(input));
  const PackedSteps steps(op, batch_sizes, N, h0.size(0));
  const Tensor h0c = h0.contiguous(), grad_out = grad_output.contiguous(),
               output_c = output.contiguous();
  Tensor dh = grad_hy.contiguous().clone();
  Tensor grad_gates = empty_buffer<device>({N, H}, h0.options());
  const RecurrentKernels<device> recurrence(w_hh, kRnnGates, Pass::Backward, h0.size(0));
  recurrence.rnn_backward_sequence(
      kind, steps,
      {.grad_output = grad_out, .dh = dh, .h0 = h0c, .output = output_c, .grad_gates = grad_gates});
  const auto g =
      layer_gemm_backward(steps, grad_gates, grad_gates, input, output_c, h0c, w_ih, w_hh, mask);
  return {g.input, dh, g.w_ih, g.w_hh, g.b_ih};
}

}  // namespace seq2seq_ext
