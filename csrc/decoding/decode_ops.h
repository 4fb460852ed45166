// Greedy decoding and beam search with the whole loop in C++, for every
// device: the same algorithm, step for step, as seq2seq_ext/models/search.py
// (which documents it), on DecoderStep (decoder_step.h) and StepScorer
// (step_scorer.h). The encoder runs before, in Python; these ops take its
// memory and the decoder's initial state.
//
// Both return (tokens (B, L) int64: up to EOS, then PAD; scores (B,); attention
// (B, L, S), or an empty tensor without attention; lengths (B,) int64: tokens up
// to and including EOS). L is the step at which every row had finished, at most
// max_len: like the Python loop, each step asks the device whether all rows are
// done.
#pragma once

#include <ATen/ops/arange.h>
#include <ATen/ops/full.h>
#include <ATen/ops/pow.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/zeros.h>

#include <limits>
#include <vector>

#include "decoder_step.h"
#include "step_scorer.h"

namespace seq2seq_ext {

inline Tensor stacked_or_empty(const std::vector<Tensor>& steps, const Tensor& like) {
  return steps.front().defined() ? at::stack(steps, 1) : at::empty({0}, like.options());
}

template <c10::DeviceType device>
Tensor4 greedy_decode(at::TensorList weights, c10::string_view cell, c10::string_view attention,
                      bool input_feeding, at::TensorList state, const Tensor& values,
                      const Tensor& mask, const OptTensor& keys_proj, int64_t sos, int64_t eos,
                      int64_t pad, int64_t max_len, at::TensorList scales) {
  const at::OptionalDeviceGuard guard(at::device_of(values));
  auto [w, memory, s] = decode_args("greedy_decode", weights, cell, attention, input_feeding, state,
                                    values, mask, keys_proj, {sos, eos, pad}, max_len, scales);
  const int64_t B = values.size(0);
  const auto on_device = values.options();
  const DecoderStep<device> step(w, B);
  StepScorer<device> scorer(w, 1, values);
  Tensor token = at::full({B}, sos, on_device.dtype(at::kLong));
  Tensor finished = at::zeros({B}, on_device.dtype(at::kBool));
  Tensor lengths = at::zeros({B}, on_device.dtype(at::kLong));
  Tensor scores = at::zeros({B}, on_device);
  std::vector<Tensor> tokens, attention_steps;
  for (int64_t t = 0; t < max_len; ++t) {
    const auto [output, step_weights] = step(token, s, memory);
    const auto [best, best_token] = scorer.best(output);
    token = best_token.masked_fill(finished, pad);
    scores.add_(best.masked_fill(finished, 0.0));
    lengths.add_(finished.logical_not().to(at::kLong));
    tokens.push_back(token);
    attention_steps.push_back(step_weights);
    finished.logical_or_(token.eq(eos));
    if (finished.all().item<bool>()) break;
  }
  return {at::stack(tokens, 1), scores, stacked_or_empty(attention_steps, values), lengths};
}

// GNMT's length penalty ((5 + length) / 6) ** alpha, in float64 as search.py's.
inline Tensor length_penalty_factor(const Tensor& lengths, double alpha) {
  return at::pow(lengths.to(at::kDouble).add(5.0).div(6.0), alpha);
}

// What beam search keeps of each step to follow the chosen hypotheses back:
// the new hypotheses' origin rows and tokens, and the attention weights of the
// rows the step ran (undefined without attention).
struct BeamStep {
  Tensor origin, token, weights;
};

// The tokens (B, L) and attention (B, L, S) (empty without attention) of the
// hypotheses in rows `rows` after the last step, followed back through `steps`.
inline Tensor2 follow_back(const std::vector<BeamStep>& steps, Tensor rows, const Tensor& like) {
  const auto L = steps.size();
  std::vector<Tensor> tokens(L), weights(L);
  for (auto t = L; t-- > 0;) {
    tokens[t] = steps[t].token.index_select(0, rows);
    rows = steps[t].origin.index_select(0, rows);
    if (steps[t].weights.defined()) weights[t] = steps[t].weights.index_select(0, rows);
  }
  return {at::stack(tokens, 1), stacked_or_empty(weights, like)};
}

template <c10::DeviceType device>
Tensor4 beam_search(at::TensorList weights, c10::string_view cell, c10::string_view attention,
                    bool input_feeding, at::TensorList state, const Tensor& values,
                    const Tensor& mask, const OptTensor& keys_proj, int64_t sos, int64_t eos,
                    int64_t pad, int64_t max_len, int64_t beam_size, double length_penalty,
                    at::TensorList scales) {
  const char* op = "beam_search";
  const at::OptionalDeviceGuard guard(at::device_of(values));
  auto [w, memory, s] = decode_args(op, weights, cell, attention, input_feeding, state, values,
                                    mask, keys_proj, {sos, eos, pad}, max_len, scales);
  TORCH_CHECK(beam_size >= 1, op, ": beam_size must be >= 1, got ", beam_size);
  const int64_t batch = values.size(0), beams = beam_size, R = batch * beams;
  const auto on_device = values.options();
  const auto longs = on_device.dtype(at::kLong);
  const double inf = std::numeric_limits<double>::infinity();
  // Every sentence becomes `beams` rows, sentence-major: row b * beams + k.
  const Tensor rows = at::arange(batch, longs).repeat_interleave(beams);
  memory = memory.index_select(rows);
  s.index_select(rows);
  const DecoderStep<device> step(w, R);
  StepScorer<device> scorer(w, beams, values);
  Tensor token = at::full({R}, sos, longs);
  Tensor scores = at::zeros({batch, beams}, on_device);
  scores.narrow(1, 1, beams - 1).fill_(-inf);  // the beams start identical: keep one
  Tensor finished = at::zeros({R}, on_device.dtype(at::kBool));
  Tensor lengths = at::zeros({R}, longs);
  std::vector<BeamStep> steps;
  for (int64_t t = 0; t < max_len; ++t) {
    const auto [output, step_weights] = step(token, s, memory);
    const auto [best_scores, origin, best_token] = scorer.choose(output, scores, finished, pad);
    scores = best_scores;
    token = best_token;
    s.index_select(origin);
    finished = finished.index_select(0, origin);
    lengths = lengths.index_select(0, origin).add_(finished.logical_not().to(at::kLong));
    steps.push_back({origin, token, step_weights});
    // A hypothesis of score -inf (fewer continuations than beams) is finished.
    finished.logical_or_(token.eq(eos)).logical_or_(scores.view(-1).eq(-inf));
    if (finished.all().item<bool>()) break;
  }
  // Rank each sentence's hypotheses by score / length penalty; keep the best.
  const Tensor ranked =
      scores.div(length_penalty_factor(lengths.view({batch, beams}), length_penalty));
  const Tensor best_beam = ranked.argmax(1);
  const Tensor chosen = at::arange(batch, longs).mul(beams).add(best_beam);
  const auto [tokens, attention_weights] = follow_back(steps, chosen, values);
  return {tokens, ranked.gather(1, best_beam.unsqueeze(1)).squeeze(1).to(scores.scalar_type()),
          attention_weights, lengths.index_select(0, chosen)};
}

}  // namespace seq2seq_ext
