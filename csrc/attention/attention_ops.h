// The attention ops, written once for every device: check the arguments, make
// them contiguous, allocate the outputs, call AttentionKernels<device>.
// register.h registers them for each device.
//
// Luong attention has no kernel of its own: its scores and context are GEMMs
// (ATen: cuBLAS / oneDNN) around the device's masked-softmax kernel.
#pragma once

#include <ATen/DeviceGuard.h>
#include <ATen/OpMathType.h>
#include <ATen/ops/empty.h>

#include <array>
#include <vector>

#include "attention_kernels.h"
#include "core/checks.h"

namespace seq2seq_ext {

// ---- checks (attention_ops.cpp). Messages name the op, the argument, the
// expected and the actual shape / dtype / device.

struct AttentionSizes {
  int64_t B, S, Q, K, D;  // batch, source length, query, key, value sizes
  int64_t T = 1;          // queries per batch row
  bool steps = false;     // the query has a T dimension: (B, T, Q), not (B, Q)
  // The leading dimensions of a query's results: (B) or (B, T).
  std::vector<int64_t> rows() const { return steps ? std::vector{B, T} : std::vector{B}; }
};
void check_softmax_args(const char* op, const Tensor& scores, const OptTensor& mask);
void check_softmax_backward_args(const char* op, const Tensor& grad_weights, const Tensor& weights);
// Bahdanau: Q = K = attention size A; query_proj (B, A) or (B, T, A).
AttentionSizes check_bahdanau_args(const char* op, const Tensor& query_proj,
                                   const Tensor& keys_proj, const Tensor& values, const Tensor& v,
                                   const OptTensor& mask);
AttentionSizes check_luong_args(const char* op, const Tensor& query, const Tensor& keys,
                                const Tensor& values, const OptTensor& W, const OptTensor& mask);
// The gradients a backward op receives and the weights it saved: (rows, D),
// (rows, S) and (rows, S) with rows = n.rows(), like `like` (its first
// argument, named `like_name`).
void check_attention_grads(const char* op, const AttentionSizes& n, const Tensor& grad_context,
                           const Tensor& grad_weights, const Tensor& weights, const Tensor& like,
                           const char* like_name);

inline Tensor contiguous_mask(const OptTensor& mask) {
  return mask.has_value() ? mask->contiguous() : Tensor();
}

// ---- masked softmax over the last dimension

template <c10::DeviceType device>
Tensor softmax_kernel(const Tensor& scores, const Tensor& mask) {
  SoftmaxForwardTensors t{scores.contiguous(), mask, at::empty(scores.sizes(), scores.options())};
  if (t.weights.numel() > 0) AttentionKernels<device>::masked_softmax_forward(t);
  return t.weights;
}

template <c10::DeviceType device>
Tensor softmax_backward_kernel(const Tensor& grad_weights, const Tensor& weights) {
  SoftmaxBackwardTensors t{grad_weights.contiguous(), weights.contiguous(),
                           at::empty(weights.sizes(), weights.options())};
  if (t.weights.numel() > 0) AttentionKernels<device>::masked_softmax_backward(t);
  return t.grad_scores;
}

template <c10::DeviceType device>
Tensor masked_softmax(const Tensor& scores, const OptTensor& mask) {
  check_softmax_args("masked_softmax", scores, mask);
  const at::OptionalDeviceGuard guard(at::device_of(scores));
  return softmax_kernel<device>(scores, contiguous_mask(mask));
}

template <c10::DeviceType device>
Tensor masked_softmax_backward(const Tensor& grad_weights, const Tensor& weights) {
  check_softmax_backward_args("masked_softmax_backward", grad_weights, weights);
  const at::OptionalDeviceGuard guard(at::device_of(weights));
  return softmax_backward_kernel<device>(grad_weights, weights);
}

// ---- Bahdanau (additive) attention: one fused kernel each way

// The kernels see T queries per row: (B, A) is T = 1.
inline Tensor per_step(const Tensor& x, const AttentionSizes& n) {
  return x.contiguous().view({n.B, n.T, x.size(-1)});
}

template <c10::DeviceType device>
Tensor2 bahdanau_attention(const Tensor& query_proj, const Tensor& keys_proj, const Tensor& values,
                           const Tensor& v, const OptTensor& mask) {
  const auto n = check_bahdanau_args("bahdanau_attention", query_proj, keys_proj, values, v, mask);
  const at::OptionalDeviceGuard guard(at::device_of(query_proj));
  BahdanauForwardTensors t;
  t.query_proj = per_step(query_proj, n);
  t.keys_proj = keys_proj.contiguous();
  t.values = values.contiguous();
  t.v = v.contiguous();
  t.mask = contiguous_mask(mask);
  t.context = at::empty({n.B, n.T, n.D}, query_proj.options());
  t.weights = at::empty({n.B, n.T, n.S}, query_proj.options());
  if (n.B > 0 && n.T > 0) AttentionKernels<device>::bahdanau_forward(t);
  if (n.steps) return {t.context, t.weights};
  return {t.context.view({n.B, n.D}), t.weights.view({n.B, n.S})};
}

// output_mask: (the score gradients query_proj, keys_proj and v; values).
template <c10::DeviceType device>
Tensor4 bahdanau_attention_backward(const Tensor& grad_context, const Tensor& grad_weights,
                                    const Tensor& query_proj, const Tensor& keys_proj,
                                    const Tensor& values, const Tensor& v, const Tensor& weights,
                                    std::array<bool, 2> output_mask) {
  const char* op = "bahdanau_attention_backward";
  const auto n = check_bahdanau_args(op, query_proj, keys_proj, values, v, {});
  check_attention_grads(op, n, grad_context, grad_weights, weights, query_proj, "query_proj");
  const at::OptionalDeviceGuard guard(at::device_of(query_proj));
  const auto [want_scores, want_values] = output_mask;
  const auto options = query_proj.options();
  const auto dtype = query_proj.scalar_type();
  const auto acc = options.dtype(at::toOpMathType(dtype));
  BahdanauBackwardTensors t;
  t.grad_context = per_step(grad_context, n);
  t.grad_weights = per_step(grad_weights, n);
  t.query_proj = per_step(query_proj, n);
  t.keys_proj = keys_proj.contiguous();
  t.values = values.contiguous();
  t.v = v.contiguous();
  t.weights = per_step(weights, n);
  t.want_scores = want_scores;
  t.want_values = want_values;
  if (want_scores) {
    t.grad_query_proj = at::empty({n.B, n.T, n.Q}, options);
    t.grad_keys_proj = at::empty({n.B, n.S, n.Q}, acc);
    t.grad_v_rows = at::empty({n.B, n.Q}, acc);
  }
  if (want_values) t.grad_values = at::empty({n.B, n.S, n.D}, acc);
  if (n.B > 0 && (want_scores || want_values)) AttentionKernels<device>::bahdanau_backward(t);
  const auto none = [&] { return at::empty({0}, options); };  // one per output
  return {want_scores ? t.grad_query_proj.view(query_proj.sizes()) : none(),
          want_scores ? t.grad_keys_proj.to(dtype) : none(),
          want_values ? t.grad_values.to(dtype) : none(),
          want_scores ? t.grad_v_rows.sum(0).to(dtype) : none()};
}

// ---- Luong (dot / general) attention: GEMMs around the softmax kernel.
// Half types run on float32 copies and are rounded once at the end.

// query @ W (general) or query (dot), in the accumulation type.
inline Tensor luong_query(const Tensor& query, const OptTensor& W, at::ScalarType acc) {
  return W.has_value() ? query.to(acc).mm(W->to(acc)) : query.to(acc);
}

template <c10::DeviceType device>
Tensor2 luong_attention(const Tensor& query, const Tensor& keys, const Tensor& values,
                        const OptTensor& mask, const OptTensor& W) {
  check_luong_args("luong_attention", query, keys, values, W, mask);
  const at::OptionalDeviceGuard guard(at::device_of(query));
  const auto dtype = query.scalar_type();
  const auto acc = at::toOpMathType(dtype);
  const Tensor q = luong_query(query, W, acc);                        // (B, K)
  const Tensor scores = keys.to(acc).bmm(q.unsqueeze(2)).squeeze(2);  // (B, S)
  const Tensor weights = softmax_kernel<device>(scores, contiguous_mask(mask));
  const Tensor context = weights.unsqueeze(1).bmm(values.to(acc)).squeeze(1);  // (B, D)
  return {context.to(dtype), weights.to(dtype)};
}

// output_mask: (query, keys, values, W).
template <c10::DeviceType device>
Tensor4 luong_attention_backward(const Tensor& grad_context, const Tensor& grad_weights,
                                 const Tensor& query, const Tensor& keys, const Tensor& values,
                                 const OptTensor& W, const Tensor& weights,
                                 std::array<bool, 4> output_mask) {
  const char* op = "luong_attention_backward";
  const auto n = check_luong_args(op, query, keys, values, W, {});
  check_attention_grads(op, n, grad_context, grad_weights, weights, query, "query");
  const at::OptionalDeviceGuard guard(at::device_of(query));
  const auto [want_query, want_keys, want_values, want_W] = output_mask;
  const auto dtype = query.scalar_type();
  const auto acc = at::toOpMathType(dtype);
  const Tensor dcontext = grad_context.to(acc).unsqueeze(2);  // (B, D, 1)
  const Tensor w = weights.to(acc);
  // dw[b,s] = grad_weights[b,s] + dcontext[b] . values[b,s]; dscore = softmax backward.
  const Tensor dw = values.to(acc).bmm(dcontext).squeeze(2).add(grad_weights.to(acc));
  const Tensor dscore = softmax_backward_kernel<device>(dw, w);  // (B, S)
  const auto none = [&] { return at::empty({0}, query.options()); };
  Tensor grad_query = none(), grad_keys = none(), grad_values = none(), grad_W = none();
  if (want_values) grad_values = w.unsqueeze(2).mul(dcontext.transpose(1, 2)).to(dtype);
  if (want_keys) {
    grad_keys = dscore.unsqueeze(2).mul(luong_query(query, W, acc).unsqueeze(1)).to(dtype);
  }
  if (want_query || (want_W && W.has_value())) {
    const Tensor grad_q = dscore.unsqueeze(1).bmm(keys.to(acc)).squeeze(1);  // d(query @ W)
    if (want_query) grad_query = (W.has_value() ? grad_q.mm(W->to(acc).t()) : grad_q).to(dtype);
    if (want_W && W.has_value()) grad_W = query.to(acc).t().mm(grad_q).to(dtype);
  }
  return {grad_query, grad_keys, grad_values, grad_W};
}

}  // namespace seq2seq_ext
