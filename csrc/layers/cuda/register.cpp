// Registers the CUDA kernels of the layer ops (compiled by the host compiler;
// each step is an ATen GEMM and the cells' units, cells/cuda/cell_kernels.cu).
#include "layers/register.h"

namespace seq2seq_ext {

TORCH_LIBRARY_IMPL(seq2seq_ext, CUDA, m) { register_layer_ops<c10::kCUDA>(m); }

}  // namespace seq2seq_ext
