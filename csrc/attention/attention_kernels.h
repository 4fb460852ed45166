// The kernels each device provides for the attention ops (cpu/attention_kernels.cpp,
// cuda/attention_kernels.cu). The ops in attention_ops.h check the arguments and
// hand the kernels contiguous tensors; an undefined `mask` means "no mask".
#pragma once

#include <c10/core/DeviceType.h>

#include "core/op_types.h"

namespace seq2seq_ext {

// Softmax over the last dimension of `scores`, seen as (rows, S).
struct SoftmaxForwardTensors {
  Tensor scores, mask;  // mask: bool, the shape of scores, or undefined
  Tensor weights;
};
struct SoftmaxBackwardTensors {
  Tensor grad_weights, weights;
  Tensor grad_scores;
};

// T queries per batch row against the row's keys and values:
// score[b,t,s] = v . tanh(query_proj[b,t] + keys_proj[b,s]), weights = masked
// softmax over s, context[b,t] = sum_s weights[b,t,s] values[b,s].
struct BahdanauForwardTensors {
  Tensor query_proj, keys_proj, values, v, mask;  // (B,T,A), (B,S,A), (B,S,D), (A), (B,S)
  Tensor context, weights;                        // (B,T,D), (B,T,S)
};
struct BahdanauBackwardTensors {
  Tensor grad_context, grad_weights, query_proj, keys_proj, values, v, weights;  // as above
  // Which gradients to compute: the scores' (query_proj, keys_proj and v), the
  // values'. Flags, not "is the output defined / non-null": with S = 0 the
  // outputs over S have no elements (a null data pointer), yet grad_query_proj
  // and grad_v_rows must still be written (zeros).
  bool want_scores = false, want_values = false;
  // Outputs, defined when wanted. grad_keys_proj (B,S,A) and grad_values
  // (B,S,D) sum over the T queries, grad_v_rows (B,A) is each row's share of
  // grad_v (summed by the op): these three are in the accumulation type.
  Tensor grad_query_proj, grad_keys_proj, grad_v_rows, grad_values;
};

template <c10::DeviceType device>
struct AttentionKernels {
  static void masked_softmax_forward(const SoftmaxForwardTensors& t);
  static void masked_softmax_backward(const SoftmaxBackwardTensors& t);
  static void bahdanau_forward(const BahdanauForwardTensors& t);
  static void bahdanau_backward(const BahdanauBackwardTensors& t);
};

// Each device file defines its specialisations (cuda/ only in a CUDA build).
#define SEQ2SEQ_DECLARE_ATTENTION_KERNELS(device)                                          \
  template <>                                                                              \
  void AttentionKernels<device>::masked_softmax_forward(const SoftmaxForwardTensors& t);   \
  template <>                                                                              \
  void AttentionKernels<device>::masked_softmax_backward(const SoftmaxBackwardTensors& t); \
  template <>                                                                              \
  void AttentionKernels<device>::bahdanau_forward(const BahdanauForwardTensors& t);        \
  template <>                                                                              \
  void AttentionKernels<device>::bahdanau_backward(const BahdanauBackwardTensors& t);
SEQ2SEQ_DECLARE_ATTENTION_KERNELS(c10::kCPU)
SEQ2SEQ_DECLARE_ATTENTION_KERNELS(c10::kCUDA)
#undef SEQ2SEQ_DECLARE_ATTENTION_KERNELS

}  // namespace seq2seq_ext
