// Registers the CUDA kernels of every op (compiled by the host compiler; the
// kernels themselves live in the .cu files next to this one).
#include "../register_ops.h"

namespace seq2seq_ext {

TORCH_LIBRARY_IMPL(seq2seq_ext, CUDA, m) { register_ops<c10::kCUDA>(m); }

}  // namespace seq2seq_ext
