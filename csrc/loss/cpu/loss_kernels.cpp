// The CPU kernel of the fused output layer and cross-entropy: each row of a
// chunk of logits in its own task (at::parallel_for), three passes over the
// row while it is in cache (the max; exp and their sum; the gradient), each a
// loop that vectorizes (exp_ is plain arithmetic in float, core/cell_math.h)
// and runs on the best ISA (core/cpu/isa.h). Sums are in kLanes partial sums
// added in a fixed order, so that every ISA rounds alike.
#include "loss/loss_kernels.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <limits>

#include "core/cell_math.h"
#include "core/cpu/isa.h"

namespace seq2seq_ext {

namespace {

constexpr int64_t kLanes = 8;
constexpr int64_t kWorkPerTask = 1 << 15;  // logits a task handles at least

template <typename acc_t>
inline __attribute__((always_inline)) acc_t row_max(const acc_t* x, int64_t n) {
  acc_t lane[kLanes];
  for (int64_t l = 0; l < kLanes; ++l) lane[l] = -std::numeric_limits<acc_t>::infinity();
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) lane[l] = x[i + l] > lane[l] ? x[i + l] : lane[l];
  }
  for (int64_t l = 0; i + l < n; ++l) lane[l] = x[i + l] > lane[l] ? x[i + l] : lane[l];
  acc_t max = lane[0];
  for (int64_t l = 1; l < kLanes; ++l) max = lane[l] > max ? lane[l] : max;
  return max;
}

// x[i] <- exp(x[i] - shift); returns their sum.
template <typename acc_t>
inline __attribute__((always_inline)) acc_t exp_and_sum(acc_t* x, int64_t n, acc_t shift) {
  acc_t lane[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) {
      x[i + l] = exp_(x[i + l] - shift);
      lane[l] += x[i + l];
    }
  }
  for (int64_t l = 0; i + l < n; ++l) {
    x[i + l] = exp_(x[i + l] - shift);
    lane[l] += x[i + l];
  }
  acc_t sum = 0;
  for (int64_t l = 0; l < kLanes; ++l) sum += lane[l];
  return sum;
}

template <typename acc_t>
void softmax_cross_entropy_cpu(const SoftmaxCrossEntropyTensors& t) {
  const int64_t rows = t.logits.size(0), V = t.logits.size(1);
  acc_t* logits = t.logits.mutable_data_ptr<acc_t>();
  const int64_t* target = t.target.const_data_ptr<int64_t>();
  acc_t* row_loss = t.row_loss.mutable_data_ptr<acc_t>();
  const bool compute_grads = t.compute_grads;
  const auto run = [&](int64_t begin, int64_t end) __attribute__((always_inline)) {
    for (int64_t r = begin; r < end; ++r) {
      acc_t* x = logits + r * V;
      const acc_t max = row_max(x, V);
      const acc_t target_logit = x[target[r]];
      const acc_t sum = exp_and_sum(x, V, max);
      // loss = logsumexp(x) - x[target] = log(sum) + max - x[target]
      row_loss[r] = std::log(sum) + max - target_logit;
      if (!compute_grads) continue;
      const acc_t inverse = acc_t(1) / sum;  // x <- softmax(x) - onehot(target)
      for (int64_t i = 0; i < V; ++i) x[i] *= inverse;
      x[target[r]] -= acc_t(1);
    }
  };
  const int64_t grain = std::max<int64_t>(1, kWorkPerTask / std::max<int64_t>(1, V));
  at::parallel_for(0, rows, grain,
                   [&](int64_t begin, int64_t end) { run_on_best_isa(run, begin, end); });
}

}  // namespace

template <>
void LossKernels<c10::kCPU>::softmax_cross_entropy(const SoftmaxCrossEntropyTensors& t) {
  if (t.logits.size(0) == 0) return;
  AT_DISPATCH_FLOATING_TYPES(t.logits.scalar_type(), "output_cross_entropy",
                             [&] { softmax_cross_entropy_cpu<scalar_t>(t); });
}

}  // namespace seq2seq_ext
