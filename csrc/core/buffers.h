// The large tensors a layer op makes on every call: the gates, the outputs,
// the workspace saved for the backward, the gradients of the gates.
//
// On the CPU they come from memory kept for reuse (cpu/reused_memory.cpp):
// taken fresh from malloc, tens of MiB a call can go back to the system when
// freed, and the next call faults every page in again (docs/design.md, "How
// an op is built", has the measurement). On CUDA, torch's caching allocator already
// reuses memory.
#pragma once

#include <ATen/ATen.h>

namespace seq2seq_ext {

// An uninitialised CPU tensor whose memory is reused once it is freed.
at::Tensor empty_in_reused_cpu_memory(at::IntArrayRef sizes, const at::TensorOptions& options);

template <c10::DeviceType device>
at::Tensor empty_buffer(at::IntArrayRef sizes, const at::TensorOptions& options) {
  if constexpr (device == c10::DeviceType::CPU) {
    return empty_in_reused_cpu_memory(sizes, options);
  } else {
    return at::empty(sizes, options);
  }
}

}  // namespace seq2seq_ext
