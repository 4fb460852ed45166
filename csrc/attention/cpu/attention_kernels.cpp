// CPU kernels of the attention ops: batch rows in parallel (at::parallel_for),
// and inside a row, inner loops that run contiguously over the attention size A
// or the value size D, so that they vectorize (exp_ / tanh_ are plain
// arithmetic in float, see core/cell_math.h). Sums are in the accumulation type.
// Bahdanau's rows run on the best ISA (core/cpu/isa.h): its tanh over (S, A) per query
// is most of the work; in float32 on AVX-512, its loops over A are those of
// bahdanau_rows.h.
#include "attention/attention_kernels.h"

#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <limits>
#include <type_traits>
#include <vector>

#include "bahdanau_rows.h"
#include "core/cell_math.h"
#include "core/cpu/isa.h"

namespace seq2seq_ext {

namespace {

// Multiply-adds one task does at least before at::parallel_for splits the
// batch further: smaller tasks cost more to schedule than they save.
constexpr int64_t kWorkPerTask = 1 << 15;

int64_t rows_per_task(int64_t work_per_row) {
  return std::max<int64_t>(1, kWorkPerTask / std::max<int64_t>(1, work_per_row));
}

bool keep(const bool* mask, int64_t s) { return mask == nullptr || mask[s]; }

// In place: x[s] <- softmax over the kept positions (max subtracted first, so
// large scores cannot overflow); positions masked out get 0, and so does every
// position of a row that keeps none.
template <typename acc_t>
void softmax_row(acc_t* x, const bool* mask, int64_t S) {
  acc_t max = -std::numeric_limits<acc_t>::infinity();
  for (int64_t s = 0; s < S; ++s) {
    if (keep(mask, s)) max = std::max(max, x[s]);
  }
  if (max == -std::numeric_limits<acc_t>::infinity()) {
    std::fill(x, x + S, acc_t(0));
    return;
  }
  acc_t sum = 0;
  for (int64_t s = 0; s < S; ++s) {
    x[s] = keep(mask, s) ? exp_(x[s] - max) : acc_t(0);
    sum += x[s];
  }
  const acc_t inverse = acc_t(1) / sum;
  for (int64_t s = 0; s < S; ++s) x[s] *= inverse;
}

template <typename scalar_t, typename acc_t>
void load_row(const scalar_t* from, int64_t n, acc_t* to) {
  for (int64_t i = 0; i < n; ++i) to[i] = static_cast<acc_t>(from[i]);
}

template <typename scalar_t, typename acc_t>
void store_row(const acc_t* from, int64_t n, scalar_t* to) {
  for (int64_t i = 0; i < n; ++i) to[i] = static_cast<scalar_t>(from[i]);
}

const bool* mask_data(const Tensor& mask) {
  return mask.defined() ? mask.const_data_ptr<bool>() : nullptr;
}

template <typename scalar_t>
void masked_softmax_forward_cpu(const SoftmaxForwardTensors& t) {
  const int64_t S = t.scores.size(-1), rows = t.scores.numel() / S;
  using acc_t = at::opmath_type<scalar_t>;
  const scalar_t* scores = t.scores.const_data_ptr<scalar_t>();
  const bool* mask = mask_data(t.mask);
  scalar_t* weights = t.weights.mutable_data_ptr<scalar_t>();
  at::parallel_for(0, rows, rows_per_task(S), [&](int64_t begin, int64_t end) {
    std::vector<acc_t> row(S);
    for (int64_t r = begin; r < end; ++r) {
      load_row(scores + r * S, S, row.data());
      softmax_row(row.data(), mask ? mask + r * S : nullptr, S);
      store_row(row.data(), S, weights + r * S);
    }
  });
}

// Softmax backward: dscore = w * (dw - sum_s w dw). Masked positions have w = 0,
// so they (and every position of an all-masked row) get a zero gradient.
template <typename scalar_t>
void masked_softmax_backward_cpu(const SoftmaxBackwardTensors& t) {
  const int64_t S = t.weights.size(-1), rows = t.weights.numel() / S;
  using acc_t = at::opmath_type<scalar_t>;
  const scalar_t* grad = t.grad_weights.const_data_ptr<scalar_t>();
  const scalar_t* weights = t.weights.const_data_ptr<scalar_t>();
  scalar_t* grad_scores = t.grad_scores.mutable_data_ptr<scalar_t>();
  at::parallel_for(0, rows, rows_per_task(S), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const scalar_t *w = weights + r * S, *dw = grad + r * S;
      acc_t total = 0;
      for (int64_t s = 0; s < S; ++s) total += acc_t(w[s]) * acc_t(dw[s]);
      for (int64_t s = 0; s < S; ++s) {
        grad_scores[r * S + s] = static_cast<scalar_t>(acc_t(w[s]) * (acc_t(dw[s]) - total));
      }
    }
  });
}

// The sum of x[i] * y[i] for i < n, in kLanes partial sums (of i % kLanes)
// added up in a fixed order at the end: a loop the compiler vectorizes for any
// target, with the same rounding for all.
constexpr int64_t kLanes = 8;

template <typename acc_t, typename scalar_t>
inline __attribute__((always_inline)) acc_t lane_dot(const acc_t* x, const scalar_t* y, int64_t n) {
  acc_t lane[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) lane[l] += x[i + l] * static_cast<acc_t>(y[i + l]);
  }
  for (int64_t l = 0; i + l < n; ++l) lane[l] += x[i + l] * static_cast<acc_t>(y[i + l]);
  acc_t sum = 0;
  for (int64_t l = 0; l < kLanes; ++l) sum += lane[l];
  return sum;
}

// Whether the loops over A have an AVX-512 copy (bahdanau_rows.h) for scalar_t.
template <typename scalar_t>
constexpr bool kAvx512Rows = SEQ2SEQ_X86_64 && std::is_same_v<scalar_t, float>;

template <typename scalar_t>
void bahdanau_forward_cpu(const BahdanauForwardTensors& t) {
  const bool avx512 = best_cpu_isa() == CpuIsa::Avx512;
  const int64_t B = t.values.size(0), S = t.values.size(1), D = t.values.size(2);
  const int64_t T = t.query_proj.size(1), A = t.v.size(0);
  using acc_t = at::opmath_type<scalar_t>;
  const scalar_t* query_proj = t.query_proj.const_data_ptr<scalar_t>();
  const scalar_t* keys_proj = t.keys_proj.const_data_ptr<scalar_t>();
  const scalar_t* values = t.values.const_data_ptr<scalar_t>();
  const bool* mask = mask_data(t.mask);
  scalar_t* context = t.context.mutable_data_ptr<scalar_t>();
  scalar_t* weights = t.weights.mutable_data_ptr<scalar_t>();
  // One task per query row r = (b, t): its own outputs, its batch row's memory.
  const auto rows = [&](int64_t begin, int64_t end) __attribute__((always_inline)) {
    std::vector<acc_t> v(A), q(A), th(A), score(S), sum(D);
    load_row(t.v.const_data_ptr<scalar_t>(), A, v.data());
    for (int64_t r = begin; r < end; ++r) {
      const int64_t b = r / T;
      const bool* row_mask = mask ? mask + b * S : nullptr;
      load_row(query_proj + r * A, A, q.data());
      // score[s] = v . tanh(q + k[s]); masked positions are skipped.
      for (int64_t s = 0; s < S; ++s) {
        score[s] = 0;
        if (!keep(row_mask, s)) continue;
        const scalar_t* k = keys_proj + (b * S + s) * A;
        if constexpr (kAvx512Rows<scalar_t>) {
          if (avx512) {
            score[s] = bahdanau_score_avx512(q.data(), k, v.data(), A);
            continue;
          }
        }
        for (int64_t a = 0; a < A; ++a) th[a] = tanh_(q[a] + static_cast<acc_t>(k[a]));
        score[s] = lane_dot(v.data(), th.data(), A);
      }
      softmax_row(score.data(), row_mask, S);
      store_row(score.data(), S, weights + r * S);
      // context = sum_s w[s] values[s], one contiguous row of D at a time.
      std::fill(sum.begin(), sum.end(), acc_t(0));
      for (int64_t s = 0; s < S; ++s) {
        const acc_t w = score[s];
        if (w == acc_t(0)) continue;  // masked (or underflowed): adds nothing
        const scalar_t* value = values + (b * S + s) * D;
        for (int64_t d = 0; d < D; ++d) sum[d] += w * static_cast<acc_t>(value[d]);
      }
      store_row(sum.data(), D, context + r * D);
    }
  };
  at::parallel_for(0, B * T, rows_per_task(S * (A + D)),
                   [&](int64_t begin, int64_t end) { run_on_best_isa(rows, begin, end); });
}

// Per query row (b, t), with w = weights[b,t], dc = grad_context[b,t]:
//   dw[s]     = grad_weights[s] + dc . values[s]       (context = sum_s w[s] values[s])
//   dscore[s] = w[s] * (dw[s] - sum_s' w[s'] dw[s'])  (softmax backward)
//   grad_values[b,s] += w[s] * dc
// and, recomputing th = tanh(q + k[s]) instead of having stored it,
//   g = dscore[s] * v * (1 - th^2)  ->  grad_keys_proj[b,s] += g,
//   grad_query_proj[b,t] += g, grad_v += dscore[s] * th.
// The sums over t make a batch row one task: its T queries write the same
// grad_keys_proj and grad_values rows (in the accumulation type).
template <typename scalar_t>
void bahdanau_backward_cpu(const BahdanauBackwardTensors& t) {
  const bool avx512 = best_cpu_isa() == CpuIsa::Avx512;
  const int64_t B = t.values.size(0), S = t.values.size(1), D = t.values.size(2);
  const int64_t T = t.query_proj.size(1), A = t.v.size(0);
  const bool want_scores = t.want_scores, want_values = t.want_values;
  using acc_t = at::opmath_type<scalar_t>;
  const scalar_t* grad_context = t.grad_context.const_data_ptr<scalar_t>();
  const scalar_t* grad_weights = t.grad_weights.const_data_ptr<scalar_t>();
  const scalar_t* query_proj = t.query_proj.const_data_ptr<scalar_t>();
  const scalar_t* keys_proj = t.keys_proj.const_data_ptr<scalar_t>();
  const scalar_t* values = t.values.const_data_ptr<scalar_t>();
  const scalar_t* weights = t.weights.const_data_ptr<scalar_t>();
  const int64_t work_per_row = T * S * (2 * A + 2 * D);
  const auto rows = [&](int64_t begin, int64_t end) __attribute__((always_inline)) {
    std::vector<acc_t> v(A), q(A), dc(D), w(S), dscore(S), gq(A);
    load_row(t.v.const_data_ptr<scalar_t>(), A, v.data());
    for (int64_t b = begin; b < end; ++b) {
      acc_t* grad_values =
          want_values ? t.grad_values.mutable_data_ptr<acc_t>() + b * S * D : nullptr;
      acc_t* grad_keys =
          want_scores ? t.grad_keys_proj.mutable_data_ptr<acc_t>() + b * S * A : nullptr;
      acc_t* gv = want_scores ? t.grad_v_rows.mutable_data_ptr<acc_t>() + b * A : nullptr;
      if (want_values) std::fill(grad_values, grad_values + S * D, acc_t(0));
      if (want_scores) {
        std::fill(grad_keys, grad_keys + S * A, acc_t(0));
        std::fill(gv, gv + A, acc_t(0));
      }
      for (int64_t r = b * T; r < (b + 1) * T; ++r) {
        load_row(grad_context + r * D, D, dc.data());
        load_row(weights + r * S, S, w.data());
        acc_t total = 0;  // sum_s w[s] dw[s]
        for (int64_t s = 0; s < S; ++s) {
          dscore[s] = 0;
          if (w[s] == acc_t(0)) continue;  // its dscore is 0 whatever dw is
          const scalar_t* value = values + (b * S + s) * D;
          const acc_t dw =
              static_cast<acc_t>(grad_weights[r * S + s]) + lane_dot(dc.data(), value, D);
          dscore[s] = dw;
          total += w[s] * dw;
        }
        for (int64_t s = 0; s < S; ++s) dscore[s] = w[s] * (dscore[s] - total);

        if (want_values) {
          for (int64_t s = 0; s < S; ++s) {
            if (w[s] == acc_t(0)) continue;
            for (int64_t d = 0; d < D; ++d) grad_values[s * D + d] += w[s] * dc[d];
          }
        }
        if (!want_scores) continue;
        load_row(query_proj + r * A, A, q.data());
        std::fill(gq.begin(), gq.end(), acc_t(0));
        for (int64_t s = 0; s < S; ++s) {
          const acc_t ds = dscore[s];
          if (ds == acc_t(0)) continue;
          const scalar_t* k = keys_proj + (b * S + s) * A;
          acc_t* gk = grad_keys + s * A;
          if constexpr (kAvx512Rows<scalar_t>) {
            if (avx512) {
              bahdanau_score_backward_avx512(q.data(), k, v.data(), ds, A, gk, gq.data(), gv);
              continue;
            }
          }
#pragma GCC ivdep
          for (int64_t a = 0; a < A; ++a) {
            const acc_t th = tanh_(q[a] + static_cast<acc_t>(k[a]));
            const acc_t g = ds * v[a] * (acc_t(1) - th * th);
            gk[a] += g;
            gq[a] += g;
            gv[a] += ds * th;
          }
        }
        store_row(gq.data(), A, t.grad_query_proj.mutable_data_ptr<scalar_t>() + r * A);
      }
    }
  };
  at::parallel_for(0, B, rows_per_task(work_per_row),
                   [&](int64_t begin, int64_t end) { run_on_best_isa(rows, begin, end); });
}

}  // namespace

template <>
void AttentionKernels<c10::kCPU>::masked_softmax_forward(const SoftmaxForwardTensors& t) {
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, t.scores.scalar_type(),
                                  "masked_softmax",
                                  [&] { masked_softmax_forward_cpu<scalar_t>(t); });
}

template <>
void AttentionKernels<c10::kCPU>::masked_softmax_backward(const SoftmaxBackwardTensors& t) {
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, t.weights.scalar_type(),
                                  "masked_softmax_backward",
                                  [&] { masked_softmax_backward_cpu<scalar_t>(t); });
}

template <>
void AttentionKernels<c10::kCPU>::bahdanau_forward(const BahdanauForwardTensors& t) {
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, t.values.scalar_type(),
                                  "bahdanau_attention", [&] { bahdanau_forward_cpu<scalar_t>(t); });
}

template <>
void AttentionKernels<c10::kCPU>::bahdanau_backward(const BahdanauBackwardTensors& t) {
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, t.values.scalar_type(),
                                  "bahdanau_attention_backward",
                                  [&] { bahdanau_backward_cpu<scalar_t>(t); });
}

}  // namespace seq2seq_ext
