// The argument checks every op shares (checks.h), device-independent.
#include "checks.h"

#include <c10/util/Exception.h>

namespace seq2seq_ext {

void check_floating(const char* op, const char* name, const Tensor& t) {
  TORCH_CHECK(at::isFloatingType(t.scalar_type()), op, ": expected a floating-point ", name,
              ", got ", t.scalar_type());
}

void check_rank(const char* op, const char* name, const Tensor& t, int64_t rank,
                const char* layout) {
  TORCH_CHECK(t.dim() == rank, op, ": expected ", name, " of shape ", layout, ", got a ", t.dim(),
              "-D tensor of shape ", t.sizes());
}

void check_tensor(const char* op, const char* name, const Tensor& t, at::IntArrayRef sizes,
                  const Tensor& like, const char* like_name) {
  TORCH_CHECK(t.sizes() == sizes, op, ": expected ", name, " of shape ", sizes, ", got ",
              t.sizes());
  TORCH_CHECK(t.scalar_type() == like.scalar_type(), op, ": expected ", name, " to have dtype ",
              like.scalar_type(), " like ", like_name, ", got ", t.scalar_type());
  TORCH_CHECK(t.device() == like.device(), op, ": expected ", name, " on device ", like.device(),
              " like ", like_name, ", got ", t.device());
}

void check_recurrent_args(const char* op, int64_t num_gates, bool packed, const RecurrentArgs& a) {
  const char* h_name = packed ? "h0" : "hx";
  const char* state_size = a.w_hr.has_value() ? "proj_size" : "hidden_size";
  check_floating(op, "input", a.input);
  check_rank(op, "input", a.input, 2,
             packed ? "(rows, input_size) in the packed layout" : "(batch, input_size)");
  TORCH_CHECK(a.w_hh.dim() == 2 && a.w_hh.size(0) % num_gates == 0 &&
                  (a.w_hr.has_value() || a.w_hh.size(0) == num_gates * a.w_hh.size(1)),
              op, ": expected w_hh of shape (", num_gates, " * hidden_size, ", state_size,
              "), got ", a.w_hh.sizes());
  TORCH_CHECK(a.w_ih.dim() == 2, op, ": expected w_ih of shape (", num_gates,
              " * hidden_size, input_size), got ", a.w_ih.sizes());
  TORCH_CHECK(a.h.dim() == 2, op, ": expected ", h_name, " of shape (batch, ", state_size,
              "), got ", a.h.sizes());
  const int64_t hidden = a.w_hh.size(0) / num_gates, state = a.w_hh.size(1);
  const int64_t rows = a.input.size(0), input_size = a.w_ih.size(1);
  // A cell's batch is the input's rows; a layer's, the initial state's.
  const int64_t batch = packed ? a.h.size(0) : rows;
  check_tensor(op, "w_hh", a.w_hh, {num_gates * hidden, state}, a.input);
  if (a.w_hr.has_value()) check_tensor(op, "w_hr", *a.w_hr, {state, hidden}, a.input);
  check_tensor(op, "w_ih", a.w_ih, {num_gates * hidden, input_size}, a.input);
  check_tensor(op, "input", a.input, {rows, input_size}, a.input);
  check_tensor(op, h_name, a.h, {batch, state}, a.input);
  if (a.c.has_value()) check_tensor(op, packed ? "c0" : "cx", *a.c, {batch, hidden}, a.input);
  if (a.b_ih.has_value()) check_tensor(op, "b_ih", *a.b_ih, {num_gates * hidden}, a.input);
  if (a.b_hh.has_value()) check_tensor(op, "b_hh", *a.b_hh, {num_gates * hidden}, a.input);
}

}  // namespace seq2seq_ext
