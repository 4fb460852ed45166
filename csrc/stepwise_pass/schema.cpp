// The schemas of the decoder's step-by-step training pass and its backward.
// Their kernels are registered per device in cpu/register.cpp and
// cuda/register.cpp next to this file.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(seq2seq_ext, m) {
  // The decoder's step-by-step training pass (stepwise_pass.h): the same
  // arguments as the decoding ops, the tokens fed at each step tgt_in (batch,
  // steps) and, for scheduled sampling, use_truth (batch, steps) bool (False:
  // feed the previous step's argmax instead), dropout: [] or its masks
  // (decoding/decoder_args.h, DecoderDropout). -> logits (batch, steps, vocab),
  // the tokens fed, and what the backward reads (time-major; stepwise_pass.h
  // lists them). The backward returns the gradients of weights and state as
  // lists in their order, and of values and keys_proj (empty without Bahdanau).
  // project=False (no scheduled sampling) returns the output layer's input
  // instead of the logits: o_t, dropped out (batch, steps, hidden), for a loss
  // that applies the output layer itself (loss/); its weights get no gradient
  // (empty tensors).
  m.def(
      "decoder_stepwise_pass(Tensor[] weights, str cell, str attention, bool input_feeding, "
      "Tensor[] state, Tensor values, Tensor mask, Tensor? keys_proj, Tensor tgt_in, "
      "Tensor? use_truth, Tensor[] dropout, int padding_idx, bool project=True) -> "
      "(Tensor logits, Tensor tokens, "
      "Tensor inputs, Tensor hidden, Tensor cells, Tensor workspace, Tensor context, "
      "Tensor attention_weights, Tensor outputs)");
  m.def(
      "decoder_stepwise_pass_backward(Tensor grad_logits, Tensor[] weights, str cell, "
      "str attention, bool input_feeding, Tensor[] state, Tensor values, Tensor mask, "
      "Tensor? keys_proj, Tensor[] dropout, int padding_idx, Tensor tokens, Tensor inputs, "
      "Tensor hidden, Tensor cells, Tensor workspace, Tensor context, Tensor attention_weights, "
      "Tensor outputs, bool project=True) -> (Tensor[] grad_weights, Tensor[] grad_state, "
      "Tensor grad_values, Tensor grad_keys_proj)");
}
