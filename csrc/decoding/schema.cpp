// The schemas of the decoding ops (greedy_decode, beam_search: a Seq2Seq
// decoder's whole loop in C++; top_log_probs: their scoring of a step on the
// CPU; reduced_linear: the product with reduced-precision weights they may
// use, core/reduced_linear.h). Their
// kernels are registered per device in cpu/register.cpp and cuda/register.cpp
// next to this file.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(seq2seq_ext, m) {
  // Decoding a Seq2Seq model with the whole loop in C++ (decode_ops.h): greedy,
  // and beam search ranked by score / ((5 + length) / 6) ** length_penalty.
  // weights: the decoder's, in the order of decoder_args.h; state: [h] or
  // [h, c], each (layers, batch, hidden_size); values (batch, src_len, K) and
  // mask (batch, src_len) bool: the memory; keys_proj: Bahdanau's, else None.
  // scales: the per-row scales of the int8 matrices among the weights (on the
  // CPU, weights may be reduced: bfloat16 or int8; decoder_args.h).
  // -> tokens (batch, steps), scores (batch,), attention (batch, steps, src_len)
  // (empty without attention), lengths (batch,). Not differentiable.
  m.def(
      "greedy_decode(Tensor[] weights, str cell, str attention, bool input_feeding, "
      "Tensor[] state, Tensor values, Tensor mask, Tensor? keys_proj, int sos, int eos, int pad, "
      "int max_len, Tensor[] scales) -> (Tensor tokens, Tensor scores, Tensor attention, "
      "Tensor lengths)");
  m.def(
      "beam_search(Tensor[] weights, str cell, str attention, bool input_feeding, "
      "Tensor[] state, Tensor values, Tensor mask, Tensor? keys_proj, int sos, int eos, int pad, "
      "int max_len, int beam_size, float length_penalty, Tensor[] scales) -> (Tensor tokens, "
      "Tensor scores, Tensor attention, Tensor lengths)");

  // The k most likely tokens of each row of log_softmax(input weight^T + bias):
  // input (rows, in_features) float32, weight (vocab_size, in_features) float32,
  // bfloat16, or int8 with per-row float32 scales -> log-probabilities (rows,
  // min(k, vocab_size)) float32, best first, and their tokens int64 (ties to
  // the lower token). The decoding ops' scoring of a step on the CPU, in one
  // pass over the weight (top_log_probs.h). CPU only; not differentiable.
  m.def(
      "top_log_probs(Tensor input, Tensor weight, Tensor? scale=None, Tensor? bias=None, "
      "int k=1) -> (Tensor log_probs, Tensor tokens)");

  // input (..., in_features) float32 times a reduced-precision weight
  // (out_features, in_features), bfloat16 or int8 with per-row float32 scales,
  // plus bias: -> (..., out_features) (core/reduced_linear.h). CPU only; not
  // differentiable (the decoding ops' products, for inference).
  m.def(
      "reduced_linear(Tensor input, Tensor weight, Tensor? scale=None, Tensor? bias=None) -> "
      "Tensor");
}
