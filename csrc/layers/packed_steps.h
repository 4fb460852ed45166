// The steps of a packed batch (torch.nn.utils.rnn.PackedSequence's layout;
// layer_ops.h describes it): how many rows each step has and where they start.
#pragma once

#include <vector>

#include "core/op_types.h"

namespace seq2seq_ext {

// The steps of a packed batch: how many rows each has and where they start.
class PackedSteps {
 public:
  PackedSteps(const char* op, const Tensor& batch_sizes, int64_t total_rows, int64_t batch);
  int64_t count() const { return static_cast<int64_t>(sizes_.size()); }
  int64_t rows(int64_t step) const { return sizes_[step]; }
  int64_t offset(int64_t step) const { return offsets_[step]; }
  // Rows of step `step` in a packed (N, ...) tensor.
  Tensor of(const Tensor& packed, int64_t step) const {
    return packed.narrow(0, offsets_[step], sizes_[step]);
  }
  // The state step `step` starts from: the previous step's rows (the first
  // rows(step) of them), or the initial state at step 0.
  Tensor previous(const Tensor& packed, const Tensor& initial, int64_t step) const {
    const Tensor before = step == 0 ? initial : of(packed, step - 1);
    return before.narrow(0, 0, sizes_[step]);
  }
  // Every step's previous state in one packed tensor (for the W_hh gradient).
  Tensor all_previous(const Tensor& packed, const Tensor& initial) const;
  // The final state of every sequence: its row at its last step (initial for
  // sequences of length 0).
  Tensor final_states(const Tensor& packed, const Tensor& initial) const;

 private:
  std::vector<int64_t> sizes_, offsets_;
};

}  // namespace seq2seq_ext
