// The scoring of a decoding step on the CPU in float32: the output layer's
// logits x = W o + b of every row, their log-softmax and each row's best
// tokens, without a (rows, V) tensor of log-probabilities (cpu/top_log_probs.cpp).
//
// The vocabulary is cut into blocks of kVocabBlock tokens. For a few rows (a
// sentence's beam), or a reduced W, one pass over W does everything: the
// threads share the blocks, and each block's logits, still in cache, give
// their maximum m_b, Σ exp(x - m_b) and the candidates for the row's best
// list. For many rows and a float32 W, a GEMM (ATen) writes the logits into a
// buffer kept from step to step, then the same per-block work runs per row.
// A row's normalizer then sums the blocks in order, m = max m_b,
// s = Σ_b s_b exp(m_b - m): the result does not depend on the threads.
//
// log-probabilities are computed as at::log_softmax does, (x - m) - log s, in
// float32; the logits' sums and s round in their own order, so they differ
// from ATen's in the last bits (docs/design.md, "The decoding ops").
// A row's tokens rank by logit, ties to the lower token (as torch.max).
#pragma once

#include <vector>

#include "core/op_types.h"

namespace seq2seq_ext {

// Each row's k best tokens, best first, and their log-probabilities.
struct TopTokens {
  Tensor log_probs;  // (rows, k) float32
  Tensor tokens;     // (rows, k) int64
};

// The output layer (weight (V, H): float32, bfloat16, or int8 with per-row
// scale; bias (V,) float32), scoring k tokens per row (k <= V). every_step: a
// decode's, which copies a float32 W^T once for the GEMM of many rows (MKL
// then packs less each step; at 64 rows a fifth faster).
class TopLogProbs {
 public:
  TopLogProbs(Tensor weight, Tensor scale, Tensor bias, int64_t k, bool every_step);
  int64_t k() const { return k_; }
  // output (rows, H) float32 on the CPU -> each row's k best tokens.
  TopTokens operator()(const Tensor& output);

 private:
  Tensor weight_, scale_, bias_;
  int64_t k_;
  bool every_step_;
  Tensor weight_t_;  // W^T (H, V) for the GEMM, every_step only
  Tensor logits_;    // (rows, V): the GEMM's, kept for the next step
};

// Beam search's choice at one step, on the CPU: sentence b's hypotheses are
// rows b * beams + i, with `scores` (batch, beams) and `finished` (rows,).
// The candidates are (score + log-probability) for each unfinished row's k
// best tokens and, for a finished row, PAD at no cost (its other
// continuations are -inf); the `beams` best of each sentence, ties to the
// lower row, then the row's order. -> the new scores (batch, beams), each
// new hypothesis's origin row and token (rows,).
Tensor3 choose_beams(const TopTokens& top, const Tensor& scores, const Tensor& finished,
                     int64_t pad);

// The op seq2seq_ext::top_log_probs: input (rows, H) float32 on the CPU ->
// (log-probabilities (rows, min(k, V)), tokens), checked.
Tensor2 top_log_probs(const Tensor& input, const Tensor& weight, const OptTensor& scale,
                      const OptTensor& bias, int64_t k);

}  // namespace seq2seq_ext
