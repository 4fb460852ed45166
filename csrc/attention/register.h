// Registers the attention ops' kernels for one device; cpu/register.cpp and
// cuda/register.cpp next to this file call it inside their TORCH_LIBRARY_IMPL block.
#pragma once

#include <torch/library.h>

#include "attention_ops.h"

namespace seq2seq_ext {

template <c10::DeviceType device>
void register_attention_ops(torch::Library& m) {
  m.impl("masked_softmax", &masked_softmax<device>);
  m.impl("masked_softmax_backward", &masked_softmax_backward<device>);
  m.impl("bahdanau_attention", &bahdanau_attention<device>);
  m.impl("bahdanau_attention_backward", &bahdanau_attention_backward<device>);
  m.impl("luong_attention", &luong_attention<device>);
  m.impl("luong_attention_backward", &luong_attention_backward<device>);
}

}  // namespace seq2seq_ext
