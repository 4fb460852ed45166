// Registers the CUDA kernels of the decoding ops (compiled by the host compiler):
// the loops of ../decode_ops.h on the cell, layer and attention kernels; for
// reduced_linear, which runs on the CPU only, a clear error.
#include "decoding/register.h"

namespace seq2seq_ext {

TORCH_LIBRARY_IMPL(seq2seq_ext, CUDA, m) { register_decoding_ops<c10::kCUDA>(m); }

}  // namespace seq2seq_ext
