// Device-independent helpers of the layer ops: the packed steps and the checks.
#include "layer_ops.h"

namespace seq2seq_ext {

PackedSteps::PackedSteps(const char* op, const Tensor& batch_sizes, int64_t total_rows,
                         int64_t batch) {
  TORCH_CHECK(batch_sizes.dim() == 1 && batch_sizes.scalar_type() == at::kLong &&
                  batch_sizes.device().is_cpu(),
              op, ": expected batch_sizes to be a 1-D int64 tensor on the CPU (as in a "
              "PackedSequence), got a ", batch_sizes.dim(), "-D ", batch_sizes.scalar_type(),
              " tensor on ", batch_sizes.device());
  const Tensor sizes = batch_sizes.contiguous();
  const int64_t* size = sizes.const_data_ptr<int64_t>();
  int64_t offset = 0;
  for (int64_t s = 0; s < sizes.numel(); ++s) {
    const int64_t limit = s == 0 ? batch : size[s - 1];
    TORCH_CHECK(size[s] >= 0 && size[s] <= limit, op,
                ": expected batch_sizes to be non-increasing, between 0 and the batch size ",
                batch, ", got ", size[s], " at step ", s, " (after ", limit, ")");
    sizes_.push_back(size[s]);
    offsets_.push_back(offset);
    offset += size[s];
  }
  TORCH_CHECK(offset == total_rows, op, ": batch_sizes add up to ", offset,
              " rows, but input has ", total_rows);
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

void check_layer_args(const char* op, int64_t num_gates, const Tensor& input, const Tensor& h0,
                      const Tensor* c0, const Tensor& w_ih, const Tensor& w_hh,
                      const OptTensor& b_ih, const OptTensor& b_hh, const OptTensor& w_hr) {
  TORCH_CHECK(at::isFloatingType(input.scalar_type()), op,
              ": expected a floating-point input, got ", input.scalar_type());
  TORCH_CHECK(input.dim() == 2, op, ": expected input of shape (rows, input_size) in the packed "
              "layout, got a ", input.dim(), "-D tensor of shape ", input.sizes());
  const char* state_size = w_hr.has_value() ? "proj_size" : "hidden_size";
  TORCH_CHECK(w_hh.dim() == 2 && w_hh.size(0) % num_gates == 0, op, ": expected w_hh of shape (",
              num_gates, " * hidden_size, ", state_size, "), got ", w_hh.sizes());
  TORCH_CHECK(w_ih.dim() == 2, op, ": expected w_ih of shape (", num_gates,
              " * hidden_size, input_size), got ", w_ih.sizes());
  TORCH_CHECK(h0.dim() == 2, op, ": expected h0 of shape (batch, ", state_size, "), got ",
              h0.sizes());
  const int64_t hidden = w_hh.size(0) / num_gates, state = w_hh.size(1);
  const int64_t batch = h0.size(0), input_size = w_ih.size(1);
  if (w_hr.has_value()) {
    check_tensor(op, "w_hr", *w_hr, {state, hidden}, input);
  } else {
    check_tensor(op, "w_hh", w_hh, {num_gates * hidden, hidden}, input);
  }
  check_tensor(op, "w_ih", w_ih, {num_gates * hidden, input_size}, input);
  check_tensor(op, "input", input, {input.size(0), input_size}, input);
  check_tensor(op, "h0", h0, {batch, state}, input);
  if (c0 != nullptr) check_tensor(op, "c0", *c0, {batch, hidden}, input);
  if (b_ih.has_value()) check_tensor(op, "b_ih", *b_ih, {num_gates * hidden}, input);
  if (b_hh.has_value()) check_tensor(op, "b_hh", *b_hh, {num_gates * hidden}, input);
}

}  // namespace seq2seq_ext
