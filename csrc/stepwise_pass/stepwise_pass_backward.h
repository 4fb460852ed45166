// The backward through time of the decoder's step-by-step pass
// (stepwise_pass.h), for every device.
//
// Going back from the last step, step t's gradient reaches o_t from its
// logits (for all steps at once: grad_logits W_out, one GEMM) and, with input
// feeding, from step t+1's input; then, through the combine layer and the
// attention, the top layer's h_t; then down the layers, each running its
// cell's backward as the layer ops' backward does (carrying dh back in time
// through W_hh); then step t's input, whose fed part is o_{t-1}'s gradient.
// Nothing else needs the step order, so it waits for the end: each weight's
// gradient is one GEMM over every step's rows (the step gradients are stacked
// time-major, like the forward's buffers), the embedding's one scatter.
#pragma once

#include <ATen/ops/embedding_dense_backward.h>
#include <ATen/ops/full.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/tanh_backward.h>

#include "stepwise_pass.h"

namespace seq2seq_ext {

// -> (the gradients of the weights, in their order; of the state list;
// of values; of keys_proj, empty without Bahdanau attention).
using StepwiseGrads = std::tuple<std::vector<Tensor>, std::vector<Tensor>, Tensor, Tensor>;

// One layer's gradients through time: its gate gradients at every step (the
// GRU's x and h parts apart; one tensor for the others), and dh (and the
// LSTM's dc), the gradient reaching its state, carried back step by step.
template <c10::DeviceType device>
struct LayerGrads {
  LayerGrads(const DecoderWeights& w, size_t l, int64_t T, int64_t B, const Tensor& like)
      : recurrence(w.layers[l].w_hh, w.layers[l].w_hh.size(0) / w.layers[l].w_hh.size(1),
                   Pass::Backward, B) {
    const int64_t H = w.layers[l].w_hh.size(1), G = w.layers[l].w_hh.size(0);
    xgates = at::empty({T * B, G}, like.options());
    hgates = w.cell == DecoderCell::Gru ? at::empty({T * B, G}, like.options()) : xgates;
    dh = at::zeros({B, H}, like.options());
    if (w.is_lstm()) dc = at::zeros({B, H}, like.options());
    if (w.cell == DecoderCell::Gru) direct = at::empty({B, H}, like.options());
  }
  RecurrentKernels<device> recurrence;
  Tensor xgates, hgates, dh, dc, direct;
  Tensor later, later_direct;  // of the step after the current one
};

template <c10::DeviceType device>
StepwiseGrads decoder_stepwise_pass_backward(
    const Tensor& grad_logits, at::TensorList weights, c10::string_view cell,
    c10::string_view attention, bool input_feeding, at::TensorList state, const Tensor& values,
    const Tensor& mask, const OptTensor& keys_proj, at::TensorList dropout, int64_t padding_idx,
    const Tensor& tokens, const Tensor& inputs, const Tensor& hidden, const Tensor& cells,
    const Tensor& workspace, const Tensor& context, const Tensor& attention_weights,
    const Tensor& outputs, bool project) {
  const char* op = "decoder_stepwise_pass_backward";
  const at::OptionalDeviceGuard guard(at::device_of(values));
  const auto [w, memory, s] = pass_args(op, weights, cell, attention, input_feeding, state, values,
                                        mask, keys_proj, tokens, std::nullopt, padding_idx);
  const int64_t B = values.size(0), S = values.size(1), K = values.size(2), T = tokens.size(1);
  const int64_t L = static_cast<int64_t>(w.layers.size()), H = s.h[0].size(1);
  const int64_t E = w.embedding.size(1), V = w.vocab_size(), W = w.workspace_size(H);
  const bool attends = w.attention != DecoderAttention::None;
  const DecoderDropout drop = dropout_masks(op, dropout, w, s, T);
  const auto sizes_if = [](bool wanted, std::vector<int64_t> sizes) {
    return wanted ? sizes : std::vector<int64_t>{0};
  };
  check_tensor(op, "grad_logits", grad_logits, {B, T, project ? V : H}, values, "values");
  check_tensor(op, "inputs", inputs, {T * B, w.layers[0].w_ih.size(1)}, values, "values");
  check_tensor(op, "hidden", hidden, {L, T * B, H}, values, "values");
  check_tensor(op, "cells", cells, sizes_if(w.is_lstm(), {L, T * B, H}), values, "values");
  check_tensor(op, "workspace", workspace, sizes_if(W > 0, {L, T * B, W}), values, "values");
  check_tensor(op, "context", context, sizes_if(attends, {T * B, K}), values, "values");
  check_tensor(op, "attention_weights", attention_weights, sizes_if(attends, {T * B, S}), values,
               "values");
  check_tensor(op, "outputs", outputs, sizes_if(attends, {T * B, H}), values, "values");

  const auto options = values.options();
  const auto acc = options.dtype(at::toOpMathType(values.scalar_type()));
  const Tensor top_hidden = hidden[L - 1];
  const Tensor top = attends ? outputs : top_hidden;  // what the logits come from
  // d o_t from the logits (or, project=False, given), every step at once,
  // time-major like the buffers.
  const Tensor grad_logits_rows = grad_logits.contiguous().view({B * T, project ? V : H});
  const Tensor grad_top = dropped_output(
      swap_row_order(project ? at::mm(grad_logits_rows, w.output_weight) : grad_logits_rows, B, T),
      drop);
  std::vector<LayerGrads<device>> layers;
  for (int64_t l = 0; l < L; ++l) layers.emplace_back(w, l, T, B, values);
  Tensor grad_pre = at::empty({attends ? T * B : 0, H}, options);  // of W_c [h; context] + b_c
  const bool bahdanau = w.attention == DecoderAttention::Bahdanau;
  const bool general = w.attention == DecoderAttention::LuongGeneral;
  const auto zeros_if = [&](bool wanted, at::IntArrayRef sizes) {
    return wanted ? at::zeros(sizes, acc) : at::empty({0}, acc);
  };
  // The attention's gradients, summed over the steps in the accumulation type.
  Tensor grad_keys_proj = zeros_if(bahdanau, memory.keys_proj.sizes());
  Tensor grad_v = zeros_if(bahdanau, w.scoring_vector.sizes());
  Tensor grad_luong_w = zeros_if(general, w.query_weight.sizes());
  Tensor grad_values = at::zeros({B, S, K}, acc);
  const Tensor query_proj = bahdanau ? at::mm(top_hidden, w.query_weight.t()) : Tensor();
  Tensor grad_query_proj = bahdanau ? at::empty(query_proj.sizes(), options) : Tensor();
  const Tensor no_grad_weights = at::zeros({B, S}, options);  // the weights are not an output
  const Tensor fed_weight = w.layers[0].w_ih.narrow(1, E, input_feeding ? H : 0);

  Tensor grad_feed;                              // of o_t, from step t + 1's input
  const int64_t last_step = B > 0 ? T - 1 : -1;  // an empty batch runs no step
  for (int64_t t = last_step; t >= 0; --t) {
    Tensor grad_o = step_rows(grad_top, t, B);
    if (grad_feed.defined()) grad_o = grad_o.add(grad_feed);
    Tensor grad_h = grad_o;  // of the top layer's h_t
    if (attends) {
      Tensor grad_pre_t = step_rows(grad_pre, t, B);
      at::tanh_backward_out(grad_pre_t, grad_o, step_rows(outputs, t, B));
      const Tensor grad_combined = at::mm(grad_pre_t, w.combine_weight);  // of [h_t; context_t]
      const Tensor grad_context = grad_combined.narrow(1, H, K);
      const Tensor weights_t = step_rows(attention_weights, t, B);
      if (bahdanau) {
        const auto [gq, gk, gv, gvec] = bahdanau_attention_backward<device>(
            grad_context, no_grad_weights, step_rows(query_proj, t, B), memory.keys_proj,
            memory.values, w.scoring_vector, weights_t, {true, true});
        step_rows(grad_query_proj, t, B).copy_(gq);
        grad_keys_proj.add_(gk);
        grad_values.add_(gv);
        grad_v.add_(gvec);
        grad_h = at::addmm(grad_combined.narrow(1, 0, H), gq, w.query_weight);
      } else {
        // Luong's keys are the values.
        const auto [gq, gk, gv, gw] = luong_attention_backward<device>(
            grad_context, no_grad_weights, step_rows(top_hidden, t, B), memory.values,
            memory.values, general ? OptTensor(w.query_weight) : std::nullopt, weights_t,
            {true, true, true, general});
        grad_values.add_(gk).add_(gv);
        if (general) grad_luong_w.add_(gw);
        grad_h = grad_combined.narrow(1, 0, H).add(gq);
      }
    }
    for (int64_t l = L - 1; l >= 0; --l) {
      LayerGrads<device>& g = layers[l];
      const Tensor h_before = t == 0 ? s.h[l] : step_rows(hidden[l], t - 1, B);
      switch (w.cell) {
        case DecoderCell::Lstm: {
          LstmBackwardTensors b;
          b.grad_hy = g.dh;
          b.grad_cy = b.grad_cx = g.dc;  // read, then overwritten, per element
          b.cx = t == 0 ? s.c[l] : step_rows(cells[l], t - 1, B);
          b.cy = step_rows(cells[l], t, B);
          b.workspace = step_rows(workspace[l], t, B);
          b.grad_gates = step_rows(g.xgates, t, B);
          g.recurrence.lstm_backward(b, g.dh, g.later, grad_h);
          g.later = b.grad_gates;
          break;
        }
        case DecoderCell::Gru: {
          GruBackwardTensors b;
          b.grad_hy = g.dh;
          b.hx = h_before;
          b.workspace = step_rows(workspace[l], t, B);
          b.grad_xgates = step_rows(g.xgates, t, B);
          b.grad_hgates = step_rows(g.hgates, t, B);
          b.grad_hx_direct = g.direct;  // read as later_direct, then overwritten
          g.recurrence.gru_backward(b, g.dh, g.later, g.later_direct, grad_h);
          g.later = b.grad_hgates;
          g.later_direct = b.grad_hx_direct;
          break;
        }
        case DecoderCell::RnnTanh:
        case DecoderCell::RnnRelu: {
          RnnBackwardTensors b;
          b.grad_hy = g.dh;
          b.hy = step_rows(hidden[l], t, B);
          b.grad_gates = step_rows(g.xgates, t, B);
          const auto kind =
              w.cell == DecoderCell::RnnTanh ? RnnNonlinearity::Tanh : RnnNonlinearity::Relu;
          g.recurrence.rnn_backward(kind, b, g.dh, g.later, grad_h);
          g.later = b.grad_gates;
          break;
        }
      }
      // The gradient of the layer below's h_t: this layer's input.
      if (l > 0) {
        grad_h = at::mm(step_rows(g.xgates, t, B), w.layers[l].w_ih);
        if (drop.active()) grad_h.mul_(step_rows(drop.layers[l - 1], t, B));
      }
    }
    if (input_feeding && t > 0) grad_feed = at::mm(step_rows(layers[0].xgates, t, B), fed_weight);
  }

  // The state gradients, carried into the initial state; then the GEMMs.
  std::vector<Tensor> grad_h0, grad_c0;
  for (auto& g : layers) {
    if (B > 0) g.recurrence.carry(g.dh, g.later, g.later_direct, Tensor());
    grad_h0.push_back(g.dh);
    if (w.is_lstm()) grad_c0.push_back(g.dc);
  }
  std::vector<Tensor> grad_state{at::stack(grad_h0)};
  if (w.is_lstm()) grad_state.push_back(at::stack(grad_c0));

  const PackedSteps steps(op, at::full({T}, B, at::kLong), T * B, B);
  const Tensor time_major_tokens = tokens.t().reshape({T * B});
  Tensor grad_embedded = at::mm(layers[0].xgates, w.layers[0].w_ih.narrow(1, 0, E));
  if (drop.active()) grad_embedded.mul_(drop.embedding);
  std::vector<Tensor> grads{at::embedding_dense_backward(grad_embedded, time_major_tokens,
                                                         w.embedding.size(0), padding_idx, false)};
  for (int64_t l = 0; l < L; ++l) {
    const LayerGrads<device>& g = layers[l];
    // Layer l's input: layer 0's as saved, else the layer below's h, dropped out.
    Tensor input = l == 0 ? inputs : hidden[l - 1];
    if (l > 0 && drop.active()) input = input.mul(drop.layers[l - 1]);
    const auto gemm = layer_gemm_backward(steps, g.xgates, g.hgates, input, hidden[l], s.h[l],
                                          w.layers[l].w_ih, w.layers[l].w_hh, {false, false, true});
    // The LSTM's and the RNN's two biases have one gradient.
    grads.insert(grads.end(), {gemm.w_ih, gemm.w_hh, gemm.b_ih,
                               w.cell == DecoderCell::Gru ? gemm.b_hh : gemm.b_ih.clone()});
  }
  const auto dtype = values.scalar_type();
  if (bahdanau) {
    grads.insert(grads.end(), {at::mm(grad_query_proj.t(), top_hidden), grad_v.to(dtype)});
  }
  if (general) grads.push_back(grad_luong_w.to(dtype));
  if (attends) {
    grads.insert(grads.end(),
                 {at::mm(grad_pre.t(), at::cat({top_hidden, context}, 1)), grad_pre.sum(0)});
  }
  if (project) {
    grads.insert(grads.end(),
                 {at::mm(grad_logits_rows.t(), swap_row_order(dropped_output(top, drop), T, B)),
                  grad_logits_rows.sum(0)});
  } else {  // the output layer's weights were not used
    grads.insert(grads.end(), {at::empty({0}, options), at::empty({0}, options)});
  }
  return {grads, grad_state, grad_values.to(dtype),
          bahdanau ? grad_keys_proj.to(dtype) : at::empty({0}, options)};
}

}  // namespace seq2seq_ext
