// One decoder step in C++ (the math in decoder_args.h), for every device: the
// GEMMs through ATen, each layer's recurrence through the same step functions
// as the layer ops (layers/layer_ops.h), attention through the attention ops. It runs
// exactly the computations of AttentionDecoder.step on the fused backend up to
// the output o_t, so the decoders' states and attention are the Python
// search's, bit for bit (the output layer: step_scorer.h).
//
// A step writes everything it computes into StepSlots: fresh tensors when
// decoding, or one step's rows of the buffers the training pass saves for its
// backward (stepwise_pass/stepwise_pass.h). A DecoderStep is built once per loop: on the
// CPU, RecurrentKernels packs each layer's W_hh once for all steps (the Python
// loop packs it every step). Decoding on the CPU, the matrices may be reduced
// (decoder_args.h): every GEMM goes through linear() (core/reduced_linear.h).
#pragma once

#include <ATen/ops/bmm.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/embedding.h>
#include <ATen/ops/tanh.h>

#include "attention/attention_ops.h"
#include "core/reduced_linear.h"
#include "decoder_args.h"
#include "layers/layer_ops.h"

namespace seq2seq_ext {

// What one layer's step writes: h (rows, H), the LSTM's c, and what the
// cell's backward reads (DecoderWeights::workspace_size columns).
struct LayerSlots {
  Tensor h, c, workspace;
};

// What one step writes, each (rows, ...): layer 0's input [embedding; fed
// output], every layer's slots, and with attention the context (K), the
// weights (S) and the output o_t (H).
struct StepSlots {
  Tensor input;
  std::vector<LayerSlots> layers;
  Tensor context, weights, output;
};

// One step's rows of the training pass's dropout masks (DecoderDropout): of
// the embedding, and of each layer's h as the next layer's input. Undefined:
// no dropout (decoding).
struct StepDropout {
  Tensor embedding;
  std::vector<Tensor> layers;
};

template <c10::DeviceType device>
class DecoderStep {
 public:
  // rows: the batch rows every step has.
  DecoderStep(const DecoderWeights& w, int64_t rows) : w_(w), rows_(rows) {
    for (const auto& layer : w.layers) {
      const int64_t gates = layer.w_hh.size(0) / layer.w_hh.size(1);
      recurrences_.emplace_back(layer.w_hh, gates, Pass::Forward, rows,
                                is_reduced(layer.w_hh, w.embedding), layer.w_hh_scale);
    }
  }

  // Decoding: token (rows,) -> the output the logits come from (rows, H) and
  // the attention weights (rows, S) (undefined without attention); `state`
  // moves on to the next step. The output layer is the caller's: scoring
  // fuses it with log-softmax and the choice of tokens (step_scorer.h).
  Tensor2 operator()(const Tensor& token, DecoderState& state, const DecoderMemory& memory) const {
    const StepSlots slots = fresh_slots(state, memory);
    const Tensor output = run(token, state, memory, slots);
    return {output, slots.weights};
  }

  // Token (rows,) -> the output the logits come from: o_t, or with no attention
  // h_t (before the output's dropout, which the caller applies). Writes `slots`
  // and moves `state` on to them.
  Tensor run(const Tensor& token, DecoderState& state, const DecoderMemory& memory,
             const StepSlots& slots, const StepDropout& dropout = {}) const {
    const int64_t E = w_.embedding.size(1);
    Tensor embedded = at::embedding(w_.embedding, token);
    if (dropout.embedding.defined()) embedded = embedded.mul(dropout.embedding);
    slots.input.narrow(1, 0, E).copy_(embedded);
    if (w_.input_feeding) slots.input.narrow(1, E, state.feed.size(1)).copy_(state.feed);
    Tensor input = slots.input;
    for (size_t l = 0; l < w_.layers.size(); ++l) {
      layer(l, input, state, slots.layers[l]);
      input = slots.layers[l].h;
      if (l < dropout.layers.size()) input = input.mul(dropout.layers[l]);
    }
    if (w_.attention == DecoderAttention::None) return input;
    const auto [context, weights] = attend(input, memory);
    slots.context.copy_(context);
    slots.weights.copy_(weights);
    Tensor output = slots.output;
    at::tanh_out(output, linear(at::cat({input, context}, 1), w_.combine_weight, w_.combine_scale,
                                w_.combine_bias));
    if (w_.input_feeding) state.feed = output;
    return output;
  }

 private:
  StepSlots fresh_slots(const DecoderState& state, const DecoderMemory& memory) const {
    const auto options = memory.values.options();
    const int64_t H = state.h[0].size(1);
    StepSlots slots;
    slots.input = at::empty({rows_, w_.layers[0].w_ih.size(1)}, options);
    for (size_t l = 0; l < w_.layers.size(); ++l) {
      slots.layers.push_back({at::empty({rows_, H}, options),
                              w_.is_lstm() ? at::empty({rows_, H}, options) : Tensor(),
                              at::empty({rows_, w_.workspace_size(H)}, options)});
    }
    if (w_.attention != DecoderAttention::None) {
      slots.context = at::empty({rows_, memory.values.size(2)}, options);
      slots.weights = at::empty({rows_, memory.values.size(1)}, options);
      slots.output = at::empty({rows_, H}, options);
    }
    return slots;
  }

  // Layer l's step on `input` (rows, I): writes `out`, moves its state on to it.
  void layer(size_t l, const Tensor& input, DecoderState& state, const LayerSlots& out) const {
    const DecoderLayerWeights& p = w_.layers[l];
    const RecurrentKernels<device>& recurrence = recurrences_[l];
    const Tensor& hx = state.h[l];
    if (rows_ > 0) {
      switch (w_.cell) {
        case DecoderCell::Lstm: {
          // x W_ih^T, then the activated gates
          const Tensor gates = linear(input, p.w_ih, p.w_ih_scale, {}, out.workspace);
          lstm_step(recurrence, gates, p.b_ih, p.b_hh, hx, state.c[l], out.h, out.c);
          break;
        }
        case DecoderCell::Gru: {
          const Tensor xgates = linear(input, p.w_ih, p.w_ih_scale);
          gru_step(recurrence, xgates, at::empty(xgates.sizes(), xgates.options()), p.b_ih, p.b_hh,
                   hx, out.h, out.workspace);
          break;
        }
        case DecoderCell::RnnTanh:
          rnn_step(recurrence, RnnNonlinearity::Tanh, linear(input, p.w_ih, p.w_ih_scale), p.b_ih,
                   p.b_hh, hx, out.h);
          break;
        case DecoderCell::RnnRelu:
          rnn_step(recurrence, RnnNonlinearity::Relu, linear(input, p.w_ih, p.w_ih_scale), p.b_ih,
                   p.b_hh, hx, out.h);
          break;
      }
    }
    state.h[l] = out.h;
    if (w_.is_lstm()) state.c[l] = out.c;
  }

  // hidden (rows, H) -> context (rows, K), weights (rows, S).
  Tensor2 attend(const Tensor& hidden, const DecoderMemory& memory) const {
    if (w_.attention == DecoderAttention::Bahdanau) {
      return bahdanau_attention<device>(linear(hidden, w_.query_weight, w_.query_scale),
                                        memory.keys_proj, memory.values, w_.scoring_vector,
                                        memory.mask);
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
