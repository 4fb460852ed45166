// Registers the CPU kernels of the layer ops (the kernels of each step:
// recurrent_kernels.cpp next to this file).
#include "layers/register.h"

namespace seq2seq_ext {

TORCH_LIBRARY_IMPL(seq2seq_ext, CPU, m) { register_layer_ops<c10::kCPU>(m); }

}  // namespace seq2seq_ext
