// Registers the fused output layer and cross-entropy for one device;
// cpu/register.cpp next to this file calls it inside its TORCH_LIBRARY_IMPL block.
#pragma once

#include <torch/library.h>

#include "loss_ops.h"

namespace seq2seq_ext {

template <c10::DeviceType device>
void register_loss_ops(torch::Library& m) {
  m.impl("output_cross_entropy", &output_cross_entropy<device>);
}

}  // namespace seq2seq_ext
