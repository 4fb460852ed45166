// Registers the CUDA kernels of the attention ops (compiled by the host compiler;
// the kernels themselves live in attention_kernels.cu next to this one).
#include "attention/register.h"

namespace seq2seq_ext {

TORCH_LIBRARY_IMPL(seq2seq_ext, CUDA, m) { register_attention_ops<c10::kCUDA>(m); }

}  // namespace seq2seq_ext
