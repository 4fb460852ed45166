// Registers the CPU kernels of every op (cell_kernels.cpp and
// attention_kernels.cpp next to this file define them).
#include "../register_ops.h"

namespace seq2seq_ext {

TORCH_LIBRARY_IMPL(seq2seq_ext, CPU, m) { register_ops<c10::kCPU>(m); }

}  // namespace seq2seq_ext
