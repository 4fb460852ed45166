// The argument checks of the fused output layer and cross-entropy (loss_ops.h).
#include "loss_ops.h"

#include <ATen/ops/aminmax.h>

#include "core/checks.h"

namespace seq2seq_ext {

void check_output_cross_entropy_args(const Tensor& hidden, const Tensor& weight,
                                     const OptTensor& bias, const Tensor& target,
                                     int64_t ignore_index) {
  const char* op = "output_cross_entropy";
  check_floating(op, "hidden", hidden);
  check_rank(op, "hidden", hidden, 2, "(rows, hidden_size)");
  check_rank(op, "weight", weight, 2, "(vocab_size, hidden_size)");
  const int64_t N = hidden.size(0), H = hidden.size(1), V = weight.size(0);
  check_tensor(op, "weight", weight, {V, H}, hidden, "hidden");
  if (bias.has_value()) check_tensor(op, "bias", *bias, {V}, hidden, "hidden");
  TORCH_CHECK(target.scalar_type() == at::kLong && target.dim() == 1 && target.size(0) == N &&
                  target.device() == hidden.device(),
              op, ": expected target of dtype int64 and shape [", N, "] on ", hidden.device(),
              ", got ", target.scalar_type(), " of shape ", target.sizes(), " on ",
              target.device());
  // Every counted target indexes a logit (as F.cross_entropy requires).
  const Tensor counted = target.masked_select(target.ne(ignore_index));
  if (counted.numel() == 0) return;
  const auto [low, high] = at::aminmax(counted);
  const int64_t lowest = low.item<int64_t>(), highest = high.item<int64_t>();
  TORCH_CHECK(lowest >= 0 && highest < V, op, ": target ", lowest < 0 ? lowest : highest,
              " is outside [0, ", V, ") (the weight's rows), and is not ignore_index ",
              ignore_index);
}

}  // namespace seq2seq_ext
