// Argument checks of the attention ops (device-independent).
#include "attention_ops.h"

namespace seq2seq_ext {

namespace {

void check_mask(const char* op, const OptTensor& mask, at::IntArrayRef sizes, const Tensor& like) {
  if (!mask.has_value()) return;
  TORCH_CHECK(mask->scalar_type() == at::kBool, op,
              ": expected mask of dtype Bool (True = a real position), got ", mask->scalar_type());
  TORCH_CHECK(mask->sizes() == sizes, op, ": expected mask of shape ", sizes, ", got ",
              mask->sizes());
  TORCH_CHECK(mask->device() == like.device(), op, ": expected mask on device ", like.device(),
              ", got ", mask->device());
}

}  // namespace

void check_softmax_args(const char* op, const Tensor& scores, const OptTensor& mask) {
  check_floating(op, "scores", scores);
  TORCH_CHECK(scores.dim() >= 1, op,
              ": expected scores with at least one dimension, got a 0-D tensor");
  check_mask(op, mask, scores.sizes(), scores);
}

void check_softmax_backward_args(const char* op, const Tensor& grad_weights,
                                 const Tensor& weights) {
  check_floating(op, "weights", weights);
  TORCH_CHECK(weights.dim() >= 1, op,
              ": expected weights with at least one dimension, got a 0-D tensor");
  check_tensor(op, "grad_weights", grad_weights, weights.sizes(), weights, "weights");
}

AttentionSizes check_bahdanau_args(const char* op, const Tensor& query_proj,
                                   const Tensor& keys_proj, const Tensor& values, const Tensor& v,
                                   const OptTensor& mask) {
  check_floating(op, "query_proj", query_proj);
  TORCH_CHECK(query_proj.dim() == 2 || query_proj.dim() == 3, op,
              ": expected query_proj of shape (batch, attn_size) or (batch, steps, attn_size), "
              "got ",
              query_proj.sizes());
  check_rank(op, "keys_proj", keys_proj, 3, "(batch, src_len, attn_size)");
  check_rank(op, "values", values, 3, "(batch, src_len, value_size)");
  check_rank(op, "v", v, 1, "(attn_size)");
  const bool steps = query_proj.dim() == 3;
  const int64_t B = query_proj.size(0), A = query_proj.size(-1);
  const int64_t S = keys_proj.size(1), D = values.size(2);
  check_tensor(op, "keys_proj", keys_proj, {B, S, A}, query_proj, "query_proj");
  check_tensor(op, "values", values, {B, S, D}, query_proj, "query_proj");
  check_tensor(op, "v", v, {A}, query_proj, "query_proj");
  check_mask(op, mask, {B, S}, query_proj);
  return {B, S, A, A, D, steps ? query_proj.size(1) : 1, steps};
}

AttentionSizes check_luong_args(const char* op, const Tensor& query, const Tensor& keys,
                                const Tensor& values, const OptTensor& W, const OptTensor& mask) {
  check_floating(op, "query", query);
  check_rank(op, "query", query, 2, "(batch, query_size)");
  check_rank(op, "keys", keys, 3, "(batch, src_len, key_size)");
  check_rank(op, "values", values, 3, "(batch, src_len, value_size)");
  const int64_t B = query.size(0), Q = query.size(1);
  const int64_t S = keys.size(1), K = keys.size(2), D = values.size(2);
  if (W.has_value()) {
    check_rank(op, "W", *W, 2, "(query_size, key_size)");
    check_tensor(op, "W", *W, {Q, K}, query, "query");
  } else {
    TORCH_CHECK(K == Q, op,
                ": dot attention (W = None) needs key_size == query_size: expected keys of shape ",
                at::IntArrayRef({B, S, Q}), ", got ", keys.sizes());
  }
  check_tensor(op, "keys", keys, {B, S, K}, query, "query");
  check_tensor(op, "values", values, {B, S, D}, query, "query");
  check_mask(op, mask, {B, S}, query);
  return {B, S, Q, K, D};
}

void check_attention_grads(const char* op, const AttentionSizes& n, const Tensor& grad_context,
                           const Tensor& grad_weights, const Tensor& weights, const Tensor& like,
                           const char* like_name) {
  auto shape = n.rows();
  shape.push_back(n.D);
  check_tensor(op, "grad_context", grad_context, shape, like, like_name);
  shape.back() = n.S;
  check_tensor(op, "grad_weights", grad_weights, shape, like, like_name);
  check_tensor(op, "weights", weights, shape, like, like_name);
}

}  // namespace seq2seq_ext
