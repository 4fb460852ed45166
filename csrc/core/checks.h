// Argument checks shared by every op. Each message names the op, the argument,
// the expected and the actual shape (or dtype, or device), e.g.
// "lstm_cell: expected hx of shape [3, 5], got [3, 6]".
#pragma once

#include "op_types.h"

namespace seq2seq_ext {

void check_floating(const char* op, const char* name, const Tensor& t);

// `layout` describes the expected shape in words, e.g. "(batch, src_len, attn_size)".
void check_rank(const char* op, const char* name, const Tensor& t, int64_t rank,
                const char* layout);

// Checks that `t` has shape `sizes` and the dtype and device of `like`.
void check_tensor(const char* op, const char* name, const Tensor& t, at::IntArrayRef sizes,
                  const Tensor& like, const char* like_name = "input");

// The arguments of a recurrent op (a cell step or a whole layer). num_gates:
// G, the blocks of w_ih (G*H, I) and w_hh (G*H, S), where the state size S is
// H, or proj_size with w_hr (S, H). `c` (the LSTM's cell state), the biases and
// w_hr may be absent.
//   Cells: input (B, I), states hx / cx (B, ·).
//   Layers (`packed`): input (N, I) in the packed layout, states h0 / c0 (B, ·).
struct RecurrentArgs {
  Tensor input, h;
  OptTensor c;
  Tensor w_ih, w_hh;
  OptTensor b_ih, b_hh, w_hr;
};
void check_recurrent_args(const char* op, int64_t num_gates, bool packed,
                          const RecurrentArgs& args);

}  // namespace seq2seq_ext
