// Registers the CPU kernels of the decoder's step-by-step training pass and its
// backward (../stepwise_pass.h, ../stepwise_pass_backward.h on the decoder step).
#include "stepwise_pass/register.h"

namespace seq2seq_ext {

TORCH_LIBRARY_IMPL(seq2seq_ext, CPU, m) { register_stepwise_pass_ops<c10::kCPU>(m); }

}  // namespace seq2seq_ext
