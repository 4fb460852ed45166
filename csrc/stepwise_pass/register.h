// Registers the kernels of the decoder's step-by-step training pass for one
// device; cpu/register.cpp and cuda/register.cpp next to this file call it
// inside their TORCH_LIBRARY_IMPL block.
#pragma once

#include <torch/library.h>

#include "stepwise_pass_backward.h"

namespace seq2seq_ext {

template <c10::DeviceType device>
void register_stepwise_pass_ops(torch::Library& m) {
  m.impl("decoder_stepwise_pass", &decoder_stepwise_pass<device>);
  m.impl("decoder_stepwise_pass_backward", &decoder_stepwise_pass_backward<device>);
}

}  // namespace seq2seq_ext
