// Registers the CUDA kernels of every op (compiled by the host compiler; the
// kernels themselves live in the .cu files next to this one).
#include "../attention_ops.h"
#include "../cell_ops.h"
#include "../layer_ops.h"

namespace seq2seq_ext {

TORCH_LIBRARY_IMPL(seq2seq_ext, CUDA, m) {
  register_cell_ops<c10::kCUDA>(m);
  register_layer_ops<c10::kCUDA>(m);
  register_attention_ops<c10::kCUDA>(m);
}

}  // namespace seq2seq_ext
