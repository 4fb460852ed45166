// Registers the CPU kernels of the attention ops (attention_kernels.cpp next
// to this file defines them).
#include "attention/register.h"

namespace seq2seq_ext {

TORCH_LIBRARY_IMPL(seq2seq_ext, CPU, m) { register_attention_ops<c10::kCPU>(m); }

}  // namespace seq2seq_ext
