// The CPU's kernels of one recurrent step (see recurrent_kernels.h): per block
// of hidden units, the block's GEMM and then its pointwise units.
#include "layers/recurrent_kernels.h"

#include <ATen/Parallel.h>
#include <ATen/native/CPUBlas.h>
#include <ATen/ops/constant_pad_nd.h>

#include <algorithm>
#include <vector>

#include "cells/cpu/unit_row.h"
#include "gemv.h"

namespace seq2seq_ext {
namespace {

// Hidden units per block. Each block's GEMM writes rows x kUnitBlock floats of
// every gate (4 AVX2 vectors of a row), and H / kUnitBlock blocks leave work
// for every thread at H = 256. 32 measured best at B = 64 on AVX2; 64 is as
// good at B = 1.
constexpr int64_t kUnitBlock = 32;

int64_t block_count(int64_t units) { return (units + kUnitBlock - 1) / kUnitBlock; }

// C (M x N, ld_c) (+)= A (M x K, ld_a) B (K x N, ld_b), all float32 row-major.
void gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t ld_a, const float* B,
          int64_t ld_b, float* C, int64_t ld_c, bool accumulate) {
  if (M == 0 || N == 0) return;
  at::native::cpublas::brgemm(M, N, K, ld_a, ld_b, ld_c, accumulate, A, B, C, /*is_vnni=*/false);
}

// `w` with dimension `dim` zero-padded to `size` (no copy when it has that size).
Tensor zero_pad(const Tensor& w, int64_t dim, int64_t size) {
  if (w.size(dim) == size) return w;
  std::vector<int64_t> pad(2 * (w.dim() - dim), 0);  // constant_pad_nd pads from the last dim
  pad.back() = size - w.size(dim);
  return at::constant_pad_nd(w, pad);
}

// W_hh (G*H, K) -> (blocks, G, K, kUnitBlock): block b, gate g holds the
// transposed rows g*H + b*kUnitBlock + n, zero-padded past H.
Tensor forward_panels(const Tensor& w_hh, int64_t gates) {
  const int64_t H = w_hh.size(0) / gates, K = w_hh.size(1), blocks = block_count(H);
  const Tensor padded = zero_pad(w_hh.view({gates, H, K}), 1, blocks * kUnitBlock);
  return padded.view({gates, blocks, kUnitBlock, K}).permute({1, 0, 3, 2}).contiguous();
}

// W_hh (G*H, N) -> (blocks, G*H, kUnitBlock): block b holds columns
// b*kUnitBlock + n, zero-padded past N.
Tensor backward_panels(const Tensor& w_hh) {
  const int64_t rows = w_hh.size(0), N = w_hh.size(1), blocks = block_count(N);
  const Tensor padded = zero_pad(w_hh, 1, blocks * kUnitBlock);
  return padded.view({rows, blocks, kUnitBlock}).permute({1, 0, 2}).contiguous();
}

// x[b, first:first+width] += y[b, first:first+width] for b < rows.
void add_columns(const Tensor& x, const Tensor& y, int64_t first, int64_t width) {
  const int64_t ld_x = x.size(1), ld_y = y.size(1);
  float* xp = x.mutable_data_ptr<float>() + first;
  const float* yp = y.const_data_ptr<float>() + first;
  for (int64_t b = 0; b < y.size(0); ++b) {
#pragma GCC ivdep
    for (int64_t j = 0; j < width; ++j) xp[b * ld_x + j] += yp[b * ld_y + j];
  }
}

}  // namespace

RecurrentKernels<c10::kCPU>::RecurrentKernels(const Tensor& w_hh, int64_t gates, Pass pass,
                                              int64_t rows, bool reduced, const Tensor& scale)
    : w_hh_(w_hh), scale_(scale), gates_(gates), path_(Path::Aten) {
  if (reduced) {
    TORCH_CHECK(pass == Pass::Forward, "a reduced-precision W_hh has no backward");
    w_hh_ = w_hh.contiguous();
    path_ = Path::Reduced;
    return;
  }
  if (w_hh.scalar_type() != at::kFloat) return;
  w_hh_ = w_hh.contiguous();
  if (rows == 1 && cpu_has_avx2_fma()) {
    path_ = Path::Gemv;
  } else {
    path_ = Path::Packed;
    panels_ = pass == Pass::Forward ? forward_panels(w_hh_, gates) : backward_panels(w_hh_);
  }
}

template <class Gemm, class Unit>
void RecurrentKernels<c10::kCPU>::for_each_block(int64_t units, const Gemm& gemm, const Unit& unit,
                                                 int64_t rows) const {
  at::parallel_for(0, block_count(units), 1, [&](int64_t begin, int64_t end) {
    for (int64_t block = begin; block < end; ++block) {
      const int64_t first = block * kUnitBlock, width = std::min(kUnitBlock, units - first);
      gemm(block, first, width);
      unit_rows(unit, 0, rows, first, first + width);
    }
  });
}

void RecurrentKernels<c10::kCPU>::gate_columns(const Tensor& h, const Tensor& out, bool accumulate,
                                               int64_t block, int64_t first, int64_t width) const {
  const int64_t K = h.size(1), H = out.size(1) / gates_;
  float* columns = out.mutable_data_ptr<float>() + first;
  if (path_ == Path::Reduced) {
    for (int64_t g = 0; g < gates_; ++g) {
      reduced_dot_rows(w_hh_, scale_, g * H + first, width, h, nullptr, columns + g * H, gates_ * H,
                       accumulate);
    }
    return;
  }
#if SEQ2SEQ_X86_64
  if (path_ == Path::Gemv) {
    // Rows g*H + first ... of W_hh, each dotted with the one row of h.
    const float* rows = w_hh_.const_data_ptr<float>() + first * K;
    for (int64_t g = 0; g < gates_; ++g) {
      dot_rows(width, K, h.const_data_ptr<float>(), rows + g * H * K, K, columns + g * H,
               accumulate);
    }
    return;
  }
#endif
  const float* panel = panels_.const_data_ptr<float>() + block * gates_ * K * kUnitBlock;
  for (int64_t g = 0; g < gates_; ++g) {
    gemm(h.size(0), width, K, h.const_data_ptr<float>(), K, panel + g * K * kUnitBlock, kUnitBlock,
         columns + g * H, gates_ * H, accumulate);
  }
}

void RecurrentKernels<c10::kCPU>::carry_columns(const Tensor& dh, const Tensor& later,
                                                const Tensor& later_direct,
                                                const Tensor& grad_output, int64_t block,
                                                int64_t first, int64_t width) const {
  if (later.defined()) {
    const int64_t K = later.size(1);
    float* columns = dh.mutable_data_ptr<float>() + first;
#if SEQ2SEQ_X86_64
    if (path_ == Path::Gemv) {
      // Columns first ... of W_hh, combined by the one row of `later`.
      combine_rows(K, width, later.const_data_ptr<float>(), w_hh_.const_data_ptr<float>() + first,
                   dh.size(1), columns);
    }
#endif
    if (path_ == Path::Packed) {
      gemm(later.size(0), width, K, later.const_data_ptr<float>(), K,
           panels_.const_data_ptr<float>() + block * K * kUnitBlock, kUnitBlock, columns,
           dh.size(1), /*accumulate=*/false);
    }
    if (later_direct.defined()) add_columns(dh, later_direct, first, width);
  }
  if (grad_output.defined()) add_columns(dh, grad_output, first, width);
}

// ---- forward

void RecurrentKernels<c10::kCPU>::lstm_forward(const LstmForwardTensors& t, const Tensor& h) const {
  if (!blocked()) return aten_lstm_forward<c10::kCPU>(w_hh_, t, h);
  const auto gemm = [&](int64_t block, int64_t first, int64_t width) {
    gate_columns(h, t.gates, /*accumulate=*/true, block, first, width);
  };
  for_each_block(t.cx.size(1), gemm, LstmForwardUnit<float>(t), t.cx.size(0));
}

void RecurrentKernels<c10::kCPU>::gru_forward(const GruForwardTensors& t, const Tensor& h) const {
  if (!blocked()) return aten_gru_forward<c10::kCPU>(w_hh_, t, h);
  const auto gemm = [&](int64_t block, int64_t first, int64_t width) {
    gate_columns(h, t.hgates, /*accumulate=*/false, block, first, width);
  };
  for_each_block(t.hx.size(1), gemm, GruForwardUnit<float>(t), t.hx.size(0));
}

void RecurrentKernels<c10::kCPU>::rnn_forward(RnnNonlinearity kind, const RnnForwardTensors& t,
                                              const Tensor& h) const {
  if (!blocked()) return aten_rnn_forward<c10::kCPU>(w_hh_, kind, t, h);
  const auto gemm = [&](int64_t block, int64_t first, int64_t width) {
    gate_columns(h, t.gates, /*accumulate=*/true, block, first, width);
  };
  const int64_t rows = t.hy.size(0), H = t.hy.size(1);
  if (kind == RnnNonlinearity::Tanh) {
    for_each_block(H, gemm, RnnTanhForwardUnit<float>(t), rows);
  } else {
    for_each_block(H, gemm, RnnReluForwardUnit<float>(t), rows);
  }
}

// ---- backward

void RecurrentKernels<c10::kCPU>::carry(const Tensor& dh, const Tensor& later,
                                        const Tensor& later_direct,
                                        const Tensor& grad_output) const {
  if (!blocked()) return aten_carry(w_hh_, dh, later, later_direct, grad_output);
  const auto gemm = [&](int64_t block, int64_t first, int64_t width) {
    carry_columns(dh, later, later_direct, grad_output, block, first, width);
  };
  for_each_block(dh.size(1), gemm, [](int64_t, int64_t) {}, 0);
}

void RecurrentKernels<c10::kCPU>::lstm_backward(const LstmBackwardTensors& t, const Tensor& dh,
                                                const Tensor& later,
                                                const Tensor& grad_output) const {
  if (!blocked()) return aten_lstm_backward<c10::kCPU>(w_hh_, t, dh, later, grad_output);
  const auto gemm = [&](int64_t block, int64_t first, int64_t width) {
    carry_columns(dh, later, Tensor(), grad_output, block, first, width);
  };
  for_each_block(t.cx.size(1), gemm, LstmBackwardUnit<float>(t), t.cx.size(0));
}

void RecurrentKernels<c10::kCPU>::gru_backward(const GruBackwardTensors& t, const Tensor& dh,
                                               const Tensor& later, const Tensor& later_direct,
                                               const Tensor& grad_output) const {
  if (!blocked()) {
    return aten_gru_backward<c10::kCPU>(w_hh_, t, dh, later, later_direct, grad_output);
  }
  const auto gemm = [&](int64_t block, int64_t first, int64_t width) {
    carry_columns(dh, later, later_direct, grad_output, block, first, width);
  };
  for_each_block(t.hx.size(1), gemm, GruBackwardUnit<float>(t), t.hx.size(0));
}

void RecurrentKernels<c10::kCPU>::rnn_backward(RnnNonlinearity kind, const RnnBackwardTensors& t,
                                               const Tensor& dh, const Tensor& later,
                                               const Tensor& grad_output) const {
  if (!blocked()) return aten_rnn_backward<c10::kCPU>(w_hh_, kind, t, dh, later, grad_output);
  const auto gemm = [&](int64_t block, int64_t first, int64_t width) {
    carry_columns(dh, later, Tensor(), grad_output, block, first, width);
  };
  const int64_t rows = t.hy.size(0), H = t.hy.size(1);
  if (kind == RnnNonlinearity::Tanh) {
    for_each_block(H, gemm, RnnTanhBackwardUnit<float>(t), rows);
  } else {
    for_each_block(H, gemm, RnnReluBackwardUnit<float>(t), rows);
  }
}

}  // namespace seq2seq_ext
