#include "checks.h"

#include <c10/util/Exception.h>

namespace seq2seq_ext {

void check_tensor(const char* op, const char* name, const at::Tensor& t, at::IntArrayRef sizes,
                  const at::Tensor& like, const char* like_name) {
  TORCH_CHECK(t.sizes() == sizes, op, ": expected ", name, " of shape ", sizes, ", got ",
              t.sizes());
  TORCH_CHECK(t.scalar_type() == like.scalar_type(), op, ": expected ", name, " to have dtype ",
              like.scalar_type(), " like ", like_name, ", got ", t.scalar_type());
  TORCH_CHECK(t.device() == like.device(), op, ": expected ", name, " on device ", like.device(),
              " like ", like_name, ", got ", t.device());
}

}  // namespace seq2seq_ext
