// Registers the decoding ops' kernels for one device; cpu/register.cpp and
// cuda/register.cpp next to this file call it inside their TORCH_LIBRARY_IMPL block.
#pragma once

#include <torch/library.h>

#include "core/reduced_linear.h"
#include "decode_ops.h"
#include "top_log_probs.h"

namespace seq2seq_ext {

template <c10::DeviceType device>
void register_decoding_ops(torch::Library& m) {
  m.impl("reduced_linear", &reduced_linear);  // on CUDA, a clear error
  m.impl("top_log_probs", &top_log_probs);    // likewise
  m.impl("greedy_decode", &greedy_decode<device>);
  m.impl("beam_search", &beam_search<device>);
}

}  // namespace seq2seq_ext
