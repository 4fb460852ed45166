// Registers the CPU layer ops (their time loop is device-independent, in
// layer_ops.h; the per-step pointwise work runs cpu/cell_kernels.cpp's kernels).
#include "../layer_ops.h"

namespace seq2seq_ext {

TORCH_LIBRARY_IMPL(seq2seq_ext, CPU, m) { register_layer_ops<c10::kCPU>(m); }

}  // namespace seq2seq_ext
