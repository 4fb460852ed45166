// Registers the CPU kernel of the fused output layer and cross-entropy
// (loss_kernels.cpp next to this file defines it).
#include "loss/register.h"

namespace seq2seq_ext {

TORCH_LIBRARY_IMPL(seq2seq_ext, CPU, m) { register_loss_ops<c10::kCPU>(m); }

}  // namespace seq2seq_ext
