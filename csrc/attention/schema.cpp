// The schemas of the attention ops (masked softmax, fused Bahdanau, Luong).
// Their kernels are registered per device in cpu/register.cpp and
// cuda/register.cpp next to this file; what every op returns and takes
// (workspace, output_mask): core/library.cpp.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(seq2seq_ext, m) {
  // Softmax over the last dimension, only over positions where mask is True; a
  // row without any gives zeros. The backward needs only the output weights.
  m.def("masked_softmax(Tensor scores, Tensor? mask=None) -> Tensor");
  m.def("masked_softmax_backward(Tensor grad_weights, Tensor weights) -> Tensor");

  // Bahdanau attention, fused: scores, masked softmax and context in one kernel.
  // query_proj is (B, A), one query per row, or (B, T, A), T queries per row
  // against the same keys and values (a decoder's every step, with no T-fold
  // copy of the memory); context and weights have query_proj's leading dims.
  // The backward recomputes tanh from its inputs; output_mask = (query_proj,
  // keys_proj and v; values).
  m.def(
      "bahdanau_attention(Tensor query_proj, Tensor keys_proj, Tensor values, Tensor v, "
      "Tensor? mask=None) -> (Tensor context, Tensor weights)");
  m.def(
      "bahdanau_attention_backward(Tensor grad_context, Tensor grad_weights, Tensor query_proj, "
      "Tensor keys_proj, Tensor values, Tensor v, Tensor weights, bool[2] output_mask) -> "
      "(Tensor grad_query_proj, Tensor grad_keys_proj, Tensor grad_values, Tensor grad_v)");

  // Luong attention, dot (W = None) or general (query @ W @ keys^T).
  // output_mask = (query, keys, values, W).
  m.def(
      "luong_attention(Tensor query, Tensor keys, Tensor values, Tensor? mask=None, "
      "Tensor? W=None) -> (Tensor context, Tensor weights)");
  m.def(
      "luong_attention_backward(Tensor grad_context, Tensor grad_weights, Tensor query, "
      "Tensor keys, Tensor values, Tensor? W, Tensor weights, bool[4] output_mask) -> "
      "(Tensor grad_query, Tensor grad_keys, Tensor grad_values, Tensor grad_W)");
}
