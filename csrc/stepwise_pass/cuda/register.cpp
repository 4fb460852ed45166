// Registers the CUDA kernels of the decoder's step-by-step training pass and its
// backward (compiled by the host compiler; ../stepwise_pass.h and
// ../stepwise_pass_backward.h on the decoder step).
#include "stepwise_pass/register.h"

namespace seq2seq_ext {

TORCH_LIBRARY_IMPL(seq2seq_ext, CUDA, m) { register_stepwise_pass_ops<c10::kCUDA>(m); }

}  // namespace seq2seq_ext
