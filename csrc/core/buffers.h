// The large tensors a layer op makes on every call: the gates, the outputs,
// the workspace saved for the backward, the gradients of the gates.
//
// On the CPU they come from memory kept for reuse (cpu/reused_memory.cpp).
// Taken fresh from malloc, tens of MiB a call go back to the system when
// freed (glibc returns large blocks, and trims the top of its heap), so the
// next call faults every page in again: measured on a 2-core Xeon, a GRU
// layer (B64 T50 H256, 26 MiB a call) went from 9 ms to 18 ms, 11k page faults
// a call, in some processes and not others. On CUDA, torch's caching
// allocator already reuses memory.
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
