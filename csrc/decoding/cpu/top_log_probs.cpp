// The scoring of a decoding step on the CPU (../top_log_probs.h says how).
#include "decoding/top_log_probs.h"

#include <ATen/Parallel.h>
#include <ATen/ops/addmm.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/mm.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <vector>

#include "core/cell_math.h"
#include "core/checks.h"
#include "core/cpu/isa.h"
#include "core/reduced_linear.h"

namespace seq2seq_ext {
namespace {

constexpr int64_t kVocabBlock = 128;
// Up to this many rows a float32 W is read by the fused pass; above, the
// product is compute-bound and ATen's GEMM does it better.
constexpr int64_t kFusedRows = 8;
// A block's sums run in this many fixed lanes, so that every copy of the
// loop (isa.h) adds in the same order.
constexpr int kLanes = 16;
constexpr float kInf = std::numeric_limits<float>::infinity();

struct BlockStats {
  float max, sum;  // of a row's logits in one block: max, Σ exp(x - max)
};

// (x1, t1) ranks before (x2, t2): the larger logit, ties to the lower token.
inline bool ranks_before(float x1, int64_t t1, float x2, int64_t t2) {
  return x1 > x2 || (x1 == x2 && t1 < t2);
}

// A row's best tokens so far, best first, at most k (NaN never enters).
struct BestList {
  float* logit;
  int64_t* token;
  int64_t size, k;

  bool full() const { return size == k; }
  void offer(float x, int64_t t) {
    if (full() ? !ranks_before(x, t, logit[k - 1], token[k - 1]) : x != x) return;
    int64_t i = full() ? k - 1 : size++;
    for (; i > 0 && ranks_before(x, t, logit[i - 1], token[i - 1]); --i) {
      logit[i] = logit[i - 1];
      token[i] = token[i - 1];
    }
    logit[i] = x;
    token[i] = t;
  }
};

// k best-list slots per row, for `rows` rows.
struct BestLists {
  std::vector<float> logits;
  std::vector<int64_t> tokens;
  std::vector<BestList> lists;
  BestLists(int64_t rows, int64_t k) : logits(rows * k), tokens(rows * k) {
    for (int64_t r = 0; r < rows; ++r) lists.push_back({&logits[r * k], &tokens[r * k], 0, k});
  }
};

#define SEQ2SEQ_INLINE inline __attribute__((always_inline))

// kLanes floats as one value of GCC's vector extension: each copy (isa.h)
// compiles its operations to its own vectors (the compiler leaves a max
// reduction written lane by lane scalar).
using Lanes = float __attribute__((vector_size(kLanes * sizeof(float))));

SEQ2SEQ_INLINE float block_max(const float* x, int64_t n) {
  Lanes lanes = Lanes{} - kInf;
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    Lanes chunk;
    std::memcpy(&chunk, x + i, sizeof chunk);
    lanes = chunk > lanes ? chunk : lanes;
  }
  float m = -kInf;
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  for (int j = 0; j < kLanes; ++j) m = lanes[j] > m ? lanes[j] : m;
  return m;
}

// Σ exp(x - m) in kLanes lanes, then the lanes pairwise, then the tail.
SEQ2SEQ_INLINE float sum_exp(const float* x, int64_t n, float m) {
  float lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) lanes[j] += polynomial_expf(x[i + j] - m);
  }
  for (int width = kLanes / 2; width > 0; width /= 2) {
    for (int j = 0; j < width; ++j) lanes[j] += lanes[j + width];
  }
  float sum = lanes[0];
  for (; i < n; ++i) sum += polynomial_expf(x[i] - m);
  return sum;
}

// One block of logits, for rows [begin, end): row r's `count` logits at
// logits + r * ld are tokens first_token, ...; writes the row's BlockStats at
// stats[r * stats_ld] and offers the tokens to best[r]. The lists see their
// tokens in increasing order, so a block (or a chunk of kLanes) whose max does
// not beat a full list's last cannot change it. Run on the best copy for the
// CPU (isa.h).
struct BlockScan {
  const float* logits;
  int64_t ld, count, first_token;
  BlockStats* stats;
  int64_t stats_ld;
  BestList* best;

  SEQ2SEQ_INLINE void operator()(int64_t begin, int64_t end) const {
    for (int64_t r = begin; r < end; ++r) {
      const float* x = logits + r * ld;
      const float m = block_max(x, count);
      // A block of -inf (and NaN) sums exp(x - 0): zero, or NaN.
      stats[r * stats_ld] = {m, sum_exp(x, count, m == -kInf ? 0.0f : m)};
      BestList& list = best[r];
      // Only the lanes' chunks whose max beats the list's last, one by one.
      for (int64_t i = 0; i < count && !(list.full() && !(m > list.logit[list.k - 1]));
           i += kLanes) {
        const int64_t n = std::min<int64_t>(kLanes, count - i);
        if (list.full() && !(block_max(x + i, n) > list.logit[list.k - 1])) continue;
        for (int64_t j = 0; j < n; ++j) list.offer(x[i + j], first_token + i + j);
      }
    }
  }
};

#undef SEQ2SEQ_INLINE

#if SEQ2SEQ_X86_64
// The exp polynomial 16 lanes at a time where the CPU has AVX-512 (with FMA,
// which the compiler contracts it to: this copy rounds a little differently
// from the baseline and AVX2 ones, which the tests check each against float64).
template <class Body>
__attribute__((target("avx512f,avx512bw,avx512vl,prefer-vector-width=512"))) void run_avx512(
    const Body& body, int64_t begin, int64_t end) {
  body(begin, end);
}
#endif

template <class Body>
void run_scan(const Body& body, int64_t begin, int64_t end) {
#if SEQ2SEQ_X86_64
  if (best_cpu_isa() == CpuIsa::Avx512) return run_avx512(body, begin, end);
#endif
  run_on_best_isa(body, begin, end);
}

}  // namespace

TopLogProbs::TopLogProbs(Tensor weight, Tensor scale, Tensor bias, int64_t k, bool every_step)
    : weight_(weight.contiguous()),
      scale_(scale.defined() ? scale.contiguous() : scale),
      bias_(bias.defined() ? bias.contiguous() : bias),
      k_(std::min(k, weight.size(0))),
      every_step_(every_step) {}

TopTokens TopLogProbs::operator()(const Tensor& output) {
  const Tensor x = output.contiguous();
  const int64_t rows = x.size(0), V = weight_.size(0), H = weight_.size(1);
  const int64_t blocks = (V + kVocabBlock - 1) / kVocabBlock;
  std::vector<BlockStats> stats(rows * blocks);  // row r, block b at r * blocks + b
  BestLists best(rows, k_);
  const float* bias = bias_.defined() ? bias_.const_data_ptr<float>() : nullptr;
  auto block_scan = [&](const float* logits, int64_t ld, int64_t b, BestList* lists) {
    const int64_t first = b * kVocabBlock;
    return BlockScan{logits, ld, std::min(kVocabBlock, V - first), first, &stats[b], blocks, lists};
  };
  if (rows == 0 || V == 0) {
    // nothing to score
  } else if (rows <= kFusedRows || is_reduced(weight_, x)) {
    // One pass over W: the threads share the blocks, each with its own lists,
    // merged at the end (a total order: the merge's order does not matter).
    std::mutex merging;
    const int64_t grain = std::max<int64_t>(1, 16384 / (kVocabBlock * std::max<int64_t>(H, 1)));
    at::parallel_for(0, blocks, grain, [&](int64_t begin, int64_t end) {
      std::vector<float> logits(rows * kVocabBlock);
      BestLists mine(rows, k_);
      for (int64_t b = begin; b < end; ++b) {
        const int64_t first = b * kVocabBlock, count = std::min(kVocabBlock, V - first);
        reduced_dot_rows(weight_, scale_, first, count, x, bias, logits.data(), kVocabBlock, false);
        run_scan(block_scan(logits.data(), kVocabBlock, b, mine.lists.data()), 0, rows);
      }
      const std::lock_guard<std::mutex> lock(merging);
      for (int64_t r = 0; r < rows; ++r) {
        const BestList& list = mine.lists[r];
        for (int64_t i = 0; i < list.size; ++i) best.lists[r].offer(list.logit[i], list.token[i]);
      }
    });
  } else {
    if (!logits_.defined() || logits_.size(0) != rows) logits_ = at::empty({rows, V}, x.options());
    if (every_step_ && !weight_t_.defined()) weight_t_ = weight_.t().contiguous();
    const Tensor weight_t = every_step_ ? weight_t_ : weight_.t();
    if (bias_.defined()) {
      at::addmm_out(logits_, bias_, x, weight_t);
    } else {
      at::mm_out(logits_, x, weight_t);
    }
    const float* logits = logits_.const_data_ptr<float>();
    at::parallel_for(0, rows, 1, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        for (int64_t b = 0; b < blocks; ++b) {
          run_scan(block_scan(logits + b * kVocabBlock, V, b, best.lists.data()), r, r + 1);
        }
      }
    });
  }
  // Each row's normalizer from its blocks, in order; then (x - m) - log s.
  TopTokens top{at::empty({rows, k_}, x.options()),
                at::empty({rows, k_}, x.options().dtype(at::kLong))};
  float* log_probs = top.log_probs.mutable_data_ptr<float>();
  int64_t* tokens = top.tokens.mutable_data_ptr<int64_t>();
  at::parallel_for(0, rows, 16, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const BlockStats* row = &stats[r * blocks];
      float m = -kInf;
      for (int64_t b = 0; b < blocks; ++b) m = row[b].max > m ? row[b].max : m;
      float sum = 0.0f;
      for (int64_t b = 0; b < blocks; ++b) sum += row[b].sum * polynomial_expf(row[b].max - m);
      const float log_sum = std::log(sum);
      const BestList& list = best.lists[r];
      for (int64_t i = 0; i < k_; ++i) {
        // A row of fewer than k numbers (NaN logits) fills up with NaN.
        const bool listed = i < list.size;
        log_probs[r * k_ + i] = listed ? (list.logit[i] - m) - log_sum : std::nanf("");
        tokens[r * k_ + i] = listed ? list.token[i] : 0;
      }
    }
  });
  return top;
}

Tensor3 choose_beams(const TopTokens& top, const Tensor& scores, const Tensor& finished,
                     int64_t pad) {
  const int64_t batch = scores.size(0), beams = scores.size(1), k = top.log_probs.size(1);
  const Tensor score_in = scores.contiguous(), done_in = finished.contiguous();
  const float* score = score_in.const_data_ptr<float>();
  const bool* done = done_in.const_data_ptr<bool>();
  const float* log_probs = top.log_probs.const_data_ptr<float>();
  const int64_t* tokens = top.tokens.const_data_ptr<int64_t>();
  Tensor new_scores = at::empty({batch, beams}, scores.options());
  Tensor origin = at::empty({batch * beams}, top.tokens.options());
  Tensor token = at::empty({batch * beams}, top.tokens.options());
  float* score_out = new_scores.mutable_data_ptr<float>();
  int64_t* origin_out = origin.mutable_data_ptr<int64_t>();
  int64_t* token_out = token.mutable_data_ptr<int64_t>();
  struct Candidate {
    float value;
    int64_t order, row, token;  // order: row-major over (row, its rank)
  };
  // Higher first; NaN before all, as torch.topk ranks it; ties in order.
  auto before = [](const Candidate& a, const Candidate& b) {
    const bool a_nan = std::isnan(a.value), b_nan = std::isnan(b.value);
    if (a_nan != b_nan) return a_nan;
    if (!a_nan && a.value != b.value) return a.value > b.value;
    return a.order < b.order;
  };
  std::vector<Candidate> candidates(beams * k);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t i = 0; i < beams; ++i) {
      const int64_t r = b * beams + i;
      for (int64_t j = 0; j < k; ++j) {
        const int64_t order = i * k + j;
        candidates[order] =
            done[r] ? Candidate{j == 0 ? score[r] : -kInf, order, r, pad}
                    : Candidate{score[r] + log_probs[r * k + j], order, r, tokens[r * k + j]};
      }
    }
    std::partial_sort(candidates.begin(), candidates.begin() + beams, candidates.end(), before);
    for (int64_t i = 0; i < beams; ++i) {
      score_out[b * beams + i] = candidates[i].value;
      origin_out[b * beams + i] = candidates[i].row;
      token_out[b * beams + i] = candidates[i].token;
    }
  }
  return {new_scores, origin, token};
}

Tensor2 top_log_probs(const Tensor& input, const Tensor& weight, const OptTensor& scale,
                      const OptTensor& bias, int64_t k) {
  const char* op = "top_log_probs";
  check_rank(op, "input", input, 2, "(rows, in_features)");
  TORCH_CHECK(input.device().is_cpu() && input.scalar_type() == at::kFloat, op,
              ": runs on the CPU in float32, got input of dtype ", input.scalar_type(), " on ",
              input.device());
  check_rank(op, "weight", weight, 2, "(vocab_size, in_features)");
  const int64_t V = weight.size(0), H = input.size(1);
  const Tensor scales = scale.value_or(Tensor());
  if (is_reduced(weight, input)) {
    check_reduced(op, "weight", weight, scales, {V, H}, input);
  } else {
    check_tensor(op, "weight", weight, {V, H}, input);
    TORCH_CHECK(!scales.defined(), op, ": a float32 weight takes no scales (int8 has)");
  }
  if (bias.has_value()) check_tensor(op, "bias", *bias, {V}, input);
  TORCH_CHECK(k >= 1, op, ": k must be >= 1, got ", k);
  TopLogProbs scorer(weight, scales, bias.value_or(Tensor()), k, /*every_step=*/false);
  TopTokens top = scorer(input);
  return {top.log_probs, top.tokens};
}

}  // namespace seq2seq_ext
