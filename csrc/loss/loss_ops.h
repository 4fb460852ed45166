// The fused output layer and cross-entropy, written once for every device:
// the summed cross-entropy of logits = hidden W^T + b against the targets,
// and (compute_grads) its gradients, without ever holding the (rows, V)
// logits whole:
//
//   for each chunk of rows:  logits = h W^T + b              (a GEMM, into one buffer)
//                            loss += logsumexp - logit[target], and the buffer
//                              becomes softmax - onehot(target)   (LossKernels)
//                            grad_h = buffer W,  grad_W += buffer^T h,
//                            grad_b += the buffer's column sums   (GEMMs)
//
// so the logits are written once and read by the GEMMs while the chunk is in
// cache, where an output layer followed by log_softmax and nll_loss writes and
// reads the whole (rows, V) tensor several times (logits, log-probabilities,
// their gradient, twice each). Rows whose target is ignore_index (padding)
// are left out before the first GEMM: no logits, and a zero gradient.
// The op returns the gradients of the loss itself; its autograd formula
// (seq2seq_ext/_ops/loss.py) scales them by the loss's gradient, so the
// backward costs no GEMM. register.h registers it for each device with a kernel.
#pragma once

#include <ATen/DeviceGuard.h>
#include <ATen/OpMathType.h>
#include <ATen/ops/addmm.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/zeros.h>

#include <algorithm>

#include "loss_kernels.h"

namespace seq2seq_ext {

// The arguments' shapes, dtypes and devices, and the counted targets in [0, V)
// (loss_ops.cpp); messages name the op and the argument.
void check_output_cross_entropy_args(const Tensor& hidden, const Tensor& weight,
                                     const OptTensor& bias, const Tensor& target,
                                     int64_t ignore_index);

// Rows of logits per chunk: about kChunkBytes of them, so that a chunk stays
// in cache between its GEMMs and the softmax (at least one row). Measured on
// a Xeon (2 MiB of L2 a core) at V = 3148, H = 256: 2 to 8 MiB are alike and
// 1.1x faster than the whole logits at once; 256 KiB chunks (20 rows) make
// GEMMs too small and rewrite grad_W too often (1.6x slower).
constexpr int64_t kChunkBytes = 4 << 20;
inline int64_t chunk_rows(int64_t V, int64_t element_size) {
  return std::max<int64_t>(1, kChunkBytes / std::max<int64_t>(1, V * element_size));
}

template <c10::DeviceType device>
Tensor4 output_cross_entropy(const Tensor& hidden, const Tensor& weight, const OptTensor& bias,
                             const Tensor& target, int64_t ignore_index, bool compute_grads) {
  check_output_cross_entropy_args(hidden, weight, bias, target, ignore_index);
  const at::OptionalDeviceGuard guard(at::device_of(hidden));
  const auto dtype = hidden.scalar_type();
  const auto acc = hidden.options().dtype(at::toOpMathType(dtype));
  const int64_t N = hidden.size(0), H = hidden.size(1), V = weight.size(0);
  // The counted rows (all of them, without a copy, where nothing is ignored).
  const Tensor rows = target.ne(ignore_index).nonzero().squeeze(1);
  const int64_t R = rows.size(0);
  const bool every_row = R == N;
  const Tensor h = (every_row ? hidden : hidden.index_select(0, rows)).to(acc).contiguous();
  const Tensor t = (every_row ? target : target.index_select(0, rows)).contiguous();
  const Tensor w = weight.to(acc).contiguous();
  const Tensor b = bias.has_value() ? bias->to(acc).contiguous() : Tensor();
  const bool has_bias = b.defined();

  Tensor row_loss = at::empty({R}, acc);
  Tensor grad_h, grad_w, grad_b;
  if (compute_grads) {
    grad_h = at::empty({R, H}, acc);
    grad_w = at::zeros({V, H}, acc);
    if (has_bias) grad_b = at::zeros({V}, acc);
  }
  const int64_t chunk = chunk_rows(V, static_cast<int64_t>(acc.dtype().itemsize()));
  const Tensor buffer = at::empty({std::min(chunk, R), V}, acc);
  for (int64_t start = 0; start < R; start += chunk) {
    const int64_t n = std::min(chunk, R - start);
    Tensor logits = buffer.narrow(0, 0, n);
    const Tensor h_chunk = h.narrow(0, start, n);
    if (has_bias) {
      at::addmm_out(logits, b, h_chunk, w.t());
    } else {
      at::mm_out(logits, h_chunk, w.t());
    }
    LossKernels<device>::softmax_cross_entropy(
        {logits, t.narrow(0, start, n), row_loss.narrow(0, start, n), compute_grads});
    if (compute_grads) {  // the buffer holds d loss / d logits now
      Tensor grad_h_chunk = grad_h.narrow(0, start, n);
      at::mm_out(grad_h_chunk, logits, w);
      grad_w.addmm_(logits.t(), h_chunk);
      if (has_bias) grad_b.add_(logits.sum(0));
    }
  }
  const Tensor loss = row_loss.sum().to(dtype);
  const auto none = [&] { return at::empty({0}, hidden.options()); };  // no aliases
  if (!compute_grads) return {loss, none(), none(), none()};
  Tensor grad_hidden = grad_h;
  if (!every_row) grad_hidden = at::zeros({N, H}, acc).index_copy_(0, rows, grad_h);
  return {loss, grad_hidden.to(dtype), grad_w.to(dtype), has_bias ? grad_b.to(dtype) : none()};
}

}  // namespace seq2seq_ext
