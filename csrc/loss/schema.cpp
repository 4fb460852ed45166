// The schema of the fused output layer and cross-entropy. Its kernel is
// registered per device in cpu/register.cpp next to this file; a device
// without one (CUDA) runs seq2seq_ext/reference.py's definition instead.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(seq2seq_ext, m) {
  // The summed cross-entropy of the logits hidden weight^T + bias (rows, vocab)
  // against target (rows), rows whose target is ignore_index left out, with
  // the logits never held whole (loss_ops.h). With compute_grads, also the
  // gradients of that sum with respect to hidden, weight and bias (else empty
  // tensors): the autograd formula scales them by the loss's gradient.
  m.def(
      "output_cross_entropy(Tensor hidden, Tensor weight, Tensor? bias, Tensor target, "
      "int ignore_index, bool compute_grads) -> (Tensor loss, Tensor grad_hidden, "
      "Tensor grad_weight, Tensor grad_bias)");
}
