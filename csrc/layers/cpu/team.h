// The threads of a layer's time loop: one parallel region for all its steps.
//
// The hidden units of a step are cut into blocks (groups of a few units); each
// thread owns a fixed range of them for the whole sequence, so its share of
// the packed W_hh stays in its own cache, and the threads meet at a barrier
// after every step (the next step reads the whole state). This replaces a
// fork and join of the thread pool per step.
#pragma once

#include <ATen/Parallel.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <exception>

namespace seq2seq_ext {

// Runs step(s, begin, end) for every s < count, where the calls for one s
// together cover blocks [0, blocks), each thread's [begin, end) the same for
// every s; all calls for s end before any for s + 1 starts. An exception in
// any call is rethrown here (the remaining steps are skipped).
template <class Step>
void run_in_team(int64_t count, int64_t blocks, const Step& step) {
  const int64_t threads = std::min<int64_t>(at::get_num_threads(), blocks);
  if (threads <= 1 || at::in_parallel_region() || omp_in_parallel()) {
    for (int64_t s = 0; s < count; ++s) step(s, 0, blocks);
    return;
  }
  std::exception_ptr error;
  std::atomic<bool> failed{false};
#pragma omp parallel num_threads(threads)
  {
    const int64_t t = omp_get_thread_num(), n = omp_get_num_threads();
    const int64_t begin = blocks * t / n, end = blocks * (t + 1) / n;
    for (int64_t s = 0; s < count; ++s) {
      if (!failed.load(std::memory_order_relaxed)) {
        try {
          step(s, begin, end);
        } catch (...) {
#pragma omp critical(seq2seq_ext_team_error)
          if (!error) error = std::current_exception();
          failed = true;
        }
      }
#pragma omp barrier
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace seq2seq_ext
