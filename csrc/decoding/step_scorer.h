// The scoring of a decoding step, for every device: the output layer, the
// log-softmax over the vocabulary and the choice of tokens (greedy: each row's
// best; beam search: each sentence's best continuations of its hypotheses).
//
// On the CPU in float32 (float32 models and for_inference copies), one fused
// pass, TopLogProbs (top_log_probs.h): no (rows, V) tensor, each row's best
// tokens taken while its logits are in cache. Elsewhere, ATen's ops as
// seq2seq_ext/models/search.py runs them (the output layer's GEMM, log_softmax,
// max or topk), so the result is the Python loop's, bit for bit.
#pragma once

#include <ATen/ops/arange.h>
#include <ATen/ops/log_softmax.h>
#include <ATen/ops/max.h>
#include <ATen/ops/topk.h>

#include <limits>
#include <optional>

#include "core/reduced_linear.h"
#include "decoder_args.h"
#include "top_log_probs.h"

namespace seq2seq_ext {

template <c10::DeviceType device>
class StepScorer {
 public:
  // k: the tokens each row offers (1 greedy, beam_size for beam search);
  // like: a tensor of the decoder's dtype.
  StepScorer(const DecoderWeights& w, int64_t k, const Tensor& like) : w_(w) {
    if constexpr (device == c10::kCPU) {
      if (like.scalar_type() == at::kFloat) {
        fused_.emplace(w.output_weight, w.output_scale, w.output_bias, k, /*every_step=*/true);
      }
    }
  }

  // output (rows, H) -> each row's best log-probability and token (rows,).
  Tensor2 best(const Tensor& output) {
    if (fused_) {
      const TopTokens top = (*fused_)(output);
      return {top.log_probs.select(1, 0), top.tokens.select(1, 0)};
    }
    const auto [best, token] = at::log_softmax(logits(output), 1).max(1);
    return {best, token};
  }

  // Beam search: sentence b's hypotheses are rows b * beams + i, with `scores`
  // (batch, beams) and `finished` (rows,); a finished one continues with PAD
  // only, at no cost. -> the `beams` best continuations of each sentence: their
  // scores (batch, beams), origin rows and tokens (rows,).
  Tensor3 choose(const Tensor& output, const Tensor& scores, const Tensor& finished, int64_t pad) {
    if (fused_) return choose_beams((*fused_)(output), scores, finished, pad);
    const double inf = std::numeric_limits<double>::infinity();
    const int64_t batch = scores.size(0), beams = scores.size(1);
    Tensor log_probs = at::log_softmax(logits(output), 1);
    log_probs.masked_fill_(finished.unsqueeze(1), -inf);
    log_probs.select(1, pad).masked_fill_(finished, 0.0);
    const int64_t vocab = log_probs.size(1);
    const Tensor candidates = scores.view({-1, 1}).add(log_probs).view({batch, beams * vocab});
    const auto [best_scores, best] = candidates.topk(beams, 1);
    const Tensor first_row = at::arange(batch, best.options()).mul(beams).unsqueeze(1);
    return {best_scores, first_row.add(best.div(vocab, "floor")).view(-1),
            best.remainder(vocab).view(-1)};
  }

 private:
  Tensor logits(const Tensor& output) const {
    return linear(output, w_.output_weight, w_.output_scale, w_.output_bias);
  }

  const DecoderWeights& w_;
  std::optional<TopLogProbs> fused_;
};

}  // namespace seq2seq_ext
