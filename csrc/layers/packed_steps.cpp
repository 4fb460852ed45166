// PackedSteps (packed_steps.h): the steps of a batch_sizes tensor, checked.
#include "packed_steps.h"

#include <ATen/ops/empty_like.h>

namespace seq2seq_ext {

PackedSteps::PackedSteps(const char* op, const Tensor& batch_sizes, int64_t total_rows,
                         int64_t batch) {
  TORCH_CHECK(batch_sizes.dim() == 1 && batch_sizes.scalar_type() == at::kLong &&
                  batch_sizes.device().is_cpu(),
              op,
              ": expected batch_sizes to be a 1-D int64 tensor on the CPU (as in a "
              "PackedSequence), got a ",
              batch_sizes.dim(), "-D ", batch_sizes.scalar_type(), " tensor on ",
              batch_sizes.device());
  const Tensor sizes = batch_sizes.contiguous();
  const int64_t* size = sizes.const_data_ptr<int64_t>();
  int64_t offset = 0;
  for (int64_t s = 0; s < sizes.numel(); ++s) {
    const int64_t limit = s == 0 ? batch : size[s - 1];
    TORCH_CHECK(size[s] >= 0 && size[s] <= limit, op,
                ": expected batch_sizes to be non-increasing, between 0 and the batch size ", batch,
                ", got ", size[s], " at step ", s, " (after ", limit, ")");
    sizes_.push_back(size[s]);
    offsets_.push_back(offset);
    offset += size[s];
  }
  TORCH_CHECK(offset == total_rows, op, ": batch_sizes add up to ", offset, " rows, but input has ",
              total_rows);
}

Tensor PackedSteps::all_previous(const Tensor& packed, const Tensor& initial) const {
  Tensor result = at::empty_like(packed, at::MemoryFormat::Contiguous);
  for (int64_t s = 0; s < count(); ++s) {
    if (sizes_[s] > 0) of(result, s).copy_(previous(packed, initial, s));
  }
  return result;
}

Tensor PackedSteps::final_states(const Tensor& packed, const Tensor& initial) const {
  Tensor result = initial.clone(at::MemoryFormat::Contiguous);
  // The sequences that end at step s are the rows of step s not in step s + 1.
  for (int64_t s = 0; s < count(); ++s) {
    const int64_t running_after = s + 1 < count() ? sizes_[s + 1] : 0;
    const int64_t ending = sizes_[s] - running_after;
    if (ending > 0) {
      result.narrow(0, running_after, ending).copy_(of(packed, s).narrow(0, running_after, ending));
    }
  }
  return result;
}

}  // namespace seq2seq_ext
