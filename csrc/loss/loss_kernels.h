// The kernel each device provides for the fused output layer and
// cross-entropy (cpu/loss_kernels.cpp): the softmax cross-entropy of a chunk
// of rows of logits, in place. loss_ops.h runs the GEMMs around it.
#pragma once

#include <c10/core/DeviceType.h>

#include "core/op_types.h"

namespace seq2seq_ext {

// logits (rows, V) contiguous, in the accumulation type; target (rows) int64,
// each in [0, V); row_loss (rows) in the accumulation type.
struct SoftmaxCrossEntropyTensors {
  Tensor logits, target, row_loss;
  // With it, logits are overwritten with the gradient of each row's loss,
  // softmax(logits) - onehot(target); else with exp(logits - max), scratch.
  bool compute_grads = false;
};

template <c10::DeviceType device>
struct LossKernels {
  // row_loss[r] = logsumexp(logits[r]) - logits[r, target[r]].
  static void softmax_cross_entropy(const SoftmaxCrossEntropyTensors& t);
};

template <>
void LossKernels<c10::kCPU>::softmax_cross_entropy(const SoftmaxCrossEntropyTensors& t);

}  // namespace seq2seq_ext
