// Registers the CUDA kernels of the cell ops (compiled by the host compiler; the
// kernels themselves live in cell_kernels.cu next to this one).
#include "cells/register.h"

namespace seq2seq_ext {

TORCH_LIBRARY_IMPL(seq2seq_ext, CUDA, m) { register_cell_ops<c10::kCUDA>(m); }

}  // namespace seq2seq_ext
