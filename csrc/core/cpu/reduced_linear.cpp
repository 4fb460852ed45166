// The CPU's reduced-precision products (../reduced_linear.h) on the dot
// kernels of reduced_dot.h.
#include "core/reduced_linear.h"

#include <ATen/Parallel.h>

#include "core/checks.h"
#include "reduced_dot.h"

namespace seq2seq_ext {

void check_reduced(const char* op, const char* name, const Tensor& weight, const Tensor& scale,
                   at::IntArrayRef shape, const Tensor& like) {
  TORCH_CHECK(like.device().is_cpu() && like.scalar_type() == at::kFloat, op, ": ", name, " is ",
              weight.scalar_type(), ": reduced-precision weights run on the CPU in float32, got ",
              like.scalar_type(), " on ", like.device());
  TORCH_CHECK(weight.sizes() == shape && weight.device().is_cpu(), op, ": expected ", name,
              " of shape ", shape, " on cpu, got ", weight.sizes(), " on ", weight.device());
  if (weight.scalar_type() == at::kChar) {
    TORCH_CHECK(scale.defined(), op, ": ", name, " is int8 and needs its per-row scales");
    check_tensor(op, (std::string(name) + " scale").c_str(), scale, {shape[0]}, like);
  } else {
    TORCH_CHECK(!scale.defined(), op, ": ", name, " is ", weight.scalar_type(),
                ", which has no scales (int8 has)");
  }
}

namespace {

template <class Weight>
void dot_rows_of(const Weight* w, const Tensor& scale, int64_t first, int64_t count,
                 const Tensor& x, const float* bias, float* y, int64_t ld_y, bool accumulate) {
  const int64_t K = x.size(1);
  reduced::dot_rows(reduced::DotRows<Weight>{
      .w = w + first * K,
      .scale = scale.defined() ? scale.const_data_ptr<float>() + first : nullptr,
      .bias = bias == nullptr ? nullptr : bias + first,
      .count = count,
      .K = K,
      .x = x.const_data_ptr<float>(),
      .rows = x.size(0),
      .ld_x = K,
      .y = y,
      .ld_y = ld_y,
      .accumulate = accumulate});
}

}  // namespace

void reduced_dot_rows(const Tensor& weight, const Tensor& scale, int64_t first, int64_t count,
                      const Tensor& x, const float* bias, float* y, int64_t ld_y, bool accumulate) {
  if (weight.scalar_type() == at::kChar) {
    dot_rows_of(weight.const_data_ptr<int8_t>(), scale, first, count, x, bias, y, ld_y, accumulate);
  } else if (weight.scalar_type() == at::kFloat) {
    dot_rows_of(weight.const_data_ptr<float>(), scale, first, count, x, bias, y, ld_y, accumulate);
  } else {
    const auto* bits = reinterpret_cast<const uint16_t*>(weight.const_data_ptr<at::BFloat16>());
    dot_rows_of(bits, scale, first, count, x, bias, y, ld_y, accumulate);
  }
}

void reduced_linear_out(const Tensor& out, const Tensor& x, const Tensor& weight,
                        const Tensor& scale, const Tensor& bias) {
  const int64_t N = weight.size(0);
  if (x.size(0) == 0 || N == 0) return;
  const float* bias_data = bias.defined() ? bias.const_data_ptr<float>() : nullptr;
  float* y = out.mutable_data_ptr<float>();
  // Enough rows per task that a thread's share is thousands of weights.
  const int64_t grain = std::max<int64_t>(16, 16384 / std::max<int64_t>(weight.size(1), 1));
  at::parallel_for(0, N, grain, [&](int64_t begin, int64_t end) {
    reduced_dot_rows(weight, scale, begin, end - begin, x, bias_data, y + begin, N, false);
  });
}

Tensor reduced_linear(const Tensor& input, const Tensor& weight, const OptTensor& scale,
                      const OptTensor& bias) {
  const char* op = "reduced_linear";
  TORCH_CHECK(weight.scalar_type() == at::kChar || weight.scalar_type() == at::kBFloat16, op,
              ": expected weight of dtype int8 or bfloat16, got ", weight.scalar_type());
  check_rank(op, "weight", weight, 2, "(out_features, in_features)");
  TORCH_CHECK(input.dim() >= 1, op, ": expected input of shape (..., in_features), got ",
              input.sizes());
  const int64_t N = weight.size(0), K = weight.size(1);
  TORCH_CHECK(input.size(-1) == K, op, ": expected input of shape (..., ", K, "), got ",
              input.sizes());
  const Tensor scales = scale.value_or(Tensor());
  check_reduced(op, "weight", weight, scales, {N, K}, input);
  if (bias.has_value()) check_tensor(op, "bias", *bias, {N}, input);
  const Tensor x = input.reshape({-1, K}).contiguous();
  const Tensor out = at::empty({x.size(0), N}, input.options());
  reduced_linear_out(out, x, weight.contiguous(), scales.defined() ? scales.contiguous() : scales,
                     bias.has_value() ? bias->contiguous() : Tensor());
  std::vector<int64_t> sizes = input.sizes().vec();
  sizes.back() = N;
  return out.view(sizes);
}

}  // namespace seq2seq_ext
