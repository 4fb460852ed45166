// Registers the CPU kernels of the decoding ops: the loops of ../decode_ops.h on
// the cell, layer and attention kernels, and reduced_linear
// (core/cpu/reduced_linear.cpp).
#include "decoding/register.h"

namespace seq2seq_ext {

TORCH_LIBRARY_IMPL(seq2seq_ext, CPU, m) { register_decoding_ops<c10::kCPU>(m); }

}  // namespace seq2seq_ext
