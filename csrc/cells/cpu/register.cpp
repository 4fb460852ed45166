// Registers the CPU kernels of the cell ops (cell_kernels.cpp next to this
// file defines their pointwise work).
#include "cells/register.h"

namespace seq2seq_ext {

TORCH_LIBRARY_IMPL(seq2seq_ext, CPU, m) { register_cell_ops<c10::kCPU>(m); }

}  // namespace seq2seq_ext
