// Argument checks shared by every op.
#pragma once

#include <ATen/core/Tensor.h>

namespace seq2seq_ext {

// Checks that `t` has shape `sizes` and the dtype and device of `like`; the
// message names the op, the argument and `like_name`, e.g.
// "lstm_cell: expected hx of shape [3, 5], got [3, 6]".
void check_tensor(const char* op, const char* name, const at::Tensor& t, at::IntArrayRef sizes,
                  const at::Tensor& like, const char* like_name = "input");

}  // namespace seq2seq_ext
