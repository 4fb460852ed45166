// The decoder's step-by-step training pass (input feeding, scheduled
// sampling) with the whole loop in C++, for every device: each step is the
// decoding ops' DecoderStep (decoding/decoder_step.h), writing its rows of the buffers
// the backward through time reads (stepwise_pass_backward.h).
//
// With dropout (training), the op takes the masks (DecoderDropout) rather than
// drawing them, so that it is a function of its arguments.
//
// The op, seq2seq_ext::decoder_stepwise_pass, returns the logits (B, T, V) of
// the T steps of tgt_in (project=False: the output layer's input instead, o_t
// dropped out (B, T, H)), and what it saved, every step's rows stacked
// time-major (row t * B + b is batch row b at step t):
//   tokens (B, T) int64   the token each step read (the truth, or the previous
//                         step's argmax where use_truth is False)
//   inputs (T*B, I)       layer 0's input: the embedding (and the fed output)
//   hidden (L, T*B, H)    every layer's h
//   cells (L, T*B, H)     the LSTM's c; empty for the other cells
//   workspace (L, T*B, W) what each cell's backward reads (W: workspace_size)
//   context (T*B, K), attention_weights (T*B, S), outputs (T*B, H): the
//                         attention's context and weights, and o_t; empty
//                         without attention.
#pragma once

#include <ATen/ops/where.h>
#include <ATen/ops/zeros.h>

#include "decoding/decoder_step.h"

namespace seq2seq_ext {

using Tensor9 = std::tuple<Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor>;

// Step t's rows of a time-major (T*B, ...) buffer.
inline Tensor step_rows(const Tensor& buffer, int64_t t, int64_t B) {
  return buffer.narrow(0, t * B, B);
}

// A (outer*inner, n) buffer with rows ordered (outer, inner), reordered
// (inner, outer) and contiguous: time-major (T*B) <-> batch-major (B*T).
inline Tensor swap_row_order(const Tensor& buffer, int64_t outer, int64_t inner) {
  const int64_t n = buffer.size(1);
  return buffer.view({outer, inner, n}).transpose(0, 1).reshape({outer * inner, n});
}

// What the output layer reads: every step's o_t (or top h_t), dropped out.
inline Tensor dropped_output(const Tensor& top, const DecoderDropout& dropout) {
  return dropout.active() ? top.mul(dropout.output) : top;
}

template <c10::DeviceType device>
Tensor9 decoder_stepwise_pass(at::TensorList weights, c10::string_view cell,
                              c10::string_view attention, bool input_feeding, at::TensorList state,
                              const Tensor& values, const Tensor& mask, const OptTensor& keys_proj,
                              const Tensor& tgt_in, const OptTensor& use_truth,
                              at::TensorList dropout, int64_t padding_idx, bool project) {
  const at::OptionalDeviceGuard guard(at::device_of(values));
  auto [w, memory, s] = pass_args("decoder_stepwise_pass", weights, cell, attention, input_feeding,
                                  state, values, mask, keys_proj, tgt_in, use_truth, padding_idx);
  TORCH_CHECK(project || !use_truth.has_value(),
              "decoder_stepwise_pass: scheduled sampling (use_truth) feeds the logits' argmax, "
              "so it needs project=True");
  const int64_t B = values.size(0), S = values.size(1), K = values.size(2), T = tgt_in.size(1);
  const int64_t L = static_cast<int64_t>(w.layers.size()), H = s.h[0].size(1);
  const int64_t V = w.vocab_size();
  const DecoderDropout drop = dropout_masks("decoder_stepwise_pass", dropout, w, s, T);
  const auto options = values.options();
  const bool attends = w.attention != DecoderAttention::None;
  const auto sized = [&](bool wanted, at::IntArrayRef sizes) {
    return wanted ? at::empty(sizes, options) : at::empty({0}, options);
  };
  Tensor tokens = at::empty({B, T}, tgt_in.options());
  Tensor inputs = at::empty({T * B, w.layers[0].w_ih.size(1)}, options);
  Tensor hidden = at::empty({L, T * B, H}, options);
  Tensor cells = sized(w.is_lstm(), {L, T * B, H});
  Tensor workspace = sized(w.workspace_size(H) > 0, {L, T * B, w.workspace_size(H)});
  Tensor context = sized(attends, {T * B, K});
  Tensor attention_weights = sized(attends, {T * B, S});
  Tensor outputs = sized(attends, {T * B, H});
  Tensor logits = at::empty({B, T, project ? V : H}, options);
  const DecoderStep<device> step(w, B);
  // With scheduled sampling a step may read the previous step's prediction,
  // so the logits come step by step; otherwise in one GEMM after the loop.
  const bool sampled = use_truth.has_value();
  for (int64_t t = 0; t < T; ++t) {
    Tensor token = tgt_in.select(1, t);
    if (sampled && t > 0) {
      token = at::where(use_truth->select(1, t), token, logits.select(1, t - 1).argmax(1));
    }
    tokens.select(1, t).copy_(token);
    StepSlots slots{.input = step_rows(inputs, t, B)};
    for (int64_t l = 0; l < L; ++l) {
      slots.layers.push_back({step_rows(hidden[l], t, B),
                              w.is_lstm() ? step_rows(cells[l], t, B) : Tensor(),
                              w.workspace_size(H) > 0 ? step_rows(workspace[l], t, B) : Tensor()});
    }
    if (attends) {
      slots.context = step_rows(context, t, B);
      slots.weights = step_rows(attention_weights, t, B);
      slots.output = step_rows(outputs, t, B);
    }
    StepDropout step_dropout;
    if (drop.active()) {
      step_dropout.embedding = step_rows(drop.embedding, t, B);
      for (int64_t l = 0; l + 1 < L; ++l)
        step_dropout.layers.push_back(step_rows(drop.layers[l], t, B));
    }
    Tensor output = step.run(token, s, memory, slots, step_dropout);
    if (drop.active()) output = output.mul(step_rows(drop.output, t, B));
    if (sampled) logits.select(1, t).copy_(at::addmm(w.output_bias, output, w.output_weight.t()));
  }
  if (!sampled && T > 0) {
    const Tensor top =
        swap_row_order(dropped_output(attends ? outputs : hidden[L - 1], drop), T, B);
    if (project) {
      logits.view({B * T, V}).copy_(at::addmm(w.output_bias, top, w.output_weight.t()));
    } else {
      logits.view({B * T, H}).copy_(top);
    }
  }
  return {logits, tokens, inputs, hidden, cells, workspace, context, attention_weights, outputs};
}

}  // namespace seq2seq_ext
