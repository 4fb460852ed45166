// One decoder step in C++ (the math in decoder_args.h), for every device: the
// GEMMs through ATen, each layer's recurrence through the same step functions
// as the layer ops (layer_ops.h), attention through the attention ops. It runs
// exactly the computations of AttentionDecoder.step on the fused backend, so
// the decoding ops return what the Python search returns, bit for bit.
//
// A DecoderStep is built once per decode: on the CPU, RecurrentKernels packs
// each layer's W_hh once for all steps (the Python loop packs it every step).
#pragma once

#include <ATen/ops/addmm.h>
#include <ATen/ops/bmm.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/embedding.h>
#include <ATen/ops/tanh.h>

#include "attention_ops.h"
#include "decoder_args.h"
#include "layer_ops.h"

namespace seq2seq_ext {

template <c10::DeviceType device>
class DecoderStep {
 public:
  // rows: the batch rows every step has.
  DecoderStep(const DecoderWeights& w, int64_t rows) : w_(w), rows_(rows) {
    for (const auto& layer : w.layers) {
      const int64_t gates = layer.w_hh.size(0) / layer.w_hh.size(1);
      recurrences_.emplace_back(layer.w_hh, gates, Pass::Forward, rows);
    }
  }

  // token (rows,) -> logits (rows, V) and attention weights (rows, S)
  // (undefined without attention); `state` moves on to the next step.
  Tensor2 operator()(const Tensor& token, DecoderState& state, const DecoderMemory& memory) const {
    Tensor input = at::embedding(w_.embedding, token);
    if (w_.input_feeding) input = at::cat({input, state.feed}, 1);
    for (size_t l = 0; l < w_.layers.size(); ++l) input = layer(l, input, state);
    if (w_.attention == DecoderAttention::None) {
      return {at::addmm(w_.output_bias, input, w_.output_weight.t()), Tensor()};
    }
    const auto [context, weights] = attend(input, memory);
    const Tensor output =
        at::tanh(at::addmm(w_.combine_bias, at::cat({input, context}, 1), w_.combine_weight.t()));
    if (w_.input_feeding) state.feed = output;
    return {at::addmm(w_.output_bias, output, w_.output_weight.t()), weights};
  }

 private:
  // Layer l's step on `input` (rows, I): updates its state, returns h (rows, H).
  Tensor layer(size_t l, const Tensor& input, DecoderState& state) const {
    const DecoderLayerWeights& p = w_.layers[l];
    const RecurrentKernels<device>& recurrence = recurrences_[l];
    const Tensor xgates = at::mm(input, p.w_ih.t());
    const Tensor hx = state.h[l];
    Tensor hy = at::empty(hx.sizes(), hx.options());
    if (rows_ > 0) {
      switch (w_.cell) {
        case DecoderCell::Lstm: {
          Tensor cy = at::empty(hy.sizes(), hy.options());
          lstm_step(recurrence, xgates, p.b_ih, p.b_hh, hx, state.c[l], hy, cy);
          state.c[l] = cy;
          break;
        }
        case DecoderCell::Gru:
          gru_step(recurrence, xgates, at::empty(xgates.sizes(), xgates.options()), p.b_ih, p.b_hh,
                   hx, hy, at::empty({rows_, kGruSaved * hx.size(1)}, hx.options()));
          break;
        case DecoderCell::RnnTanh:
          rnn_step(recurrence, RnnNonlinearity::Tanh, xgates, p.b_ih, p.b_hh, hx, hy);
          break;
        case DecoderCell::RnnRelu:
          rnn_step(recurrence, RnnNonlinearity::Relu, xgates, p.b_ih, p.b_hh, hx, hy);
          break;
      }
    }
    state.h[l] = hy;
    return hy;
  }

  // hidden (rows, H) -> context (rows, K), weights (rows, S).
  Tensor2 attend(const Tensor& hidden, const DecoderMemory& memory) const {
    if (w_.attention == DecoderAttention::Bahdanau) {
      return bahdanau_attention<device>(at::mm(hidden, w_.query_weight.t()), memory.keys_proj,
                                        memory.values, w_.scoring_vector, memory.mask);
    }
    // Luong, as LuongAttention does it for a (rows, 1, H) query: GEMMs around
    // the masked softmax.
    const Tensor query =
        w_.attention == DecoderAttention::LuongGeneral ? at::mm(hidden, w_.query_weight) : hidden;
    const Tensor scores = at::bmm(query.unsqueeze(1), memory.values.transpose(1, 2));
    const Tensor weights = softmax_kernel<device>(scores, memory.mask.unsqueeze(1));
    return {at::bmm(weights, memory.values).squeeze(1), weights.squeeze(1)};
  }

  const DecoderWeights& w_;
  int64_t rows_;
  std::vector<RecurrentKernels<device>> recurrences_;
};

}  // namespace seq2seq_ext
