// The CPU's RecurrentKernels (see ../recurrent_kernels.h), defined in
// recurrent_kernels.cpp next to this file.
//
// For float32 the hidden units are cut into blocks of kUnitBlock, which the
// threads share (the same blocks every step, so each thread's slice of the
// weights stays in its cache). Per block and step: the GEMM of the block's
// columns of every gate, then at once the block's units. The GEMM is oneDNN's
// batch-reduce GEMM (at::native::cpublas::brgemm; a plain GEMM where oneDNN has
// no kernel) on weights packed once per layer call; at batch 1, on a CPU with
// AVX2 and FMA, matrix-vector loops on W_hh as stored (gemv.h), so nothing is
// packed. A reduced W_hh (bfloat16, int8 with scales; forward only) takes the
// reduced dot kernels (core/reduced_linear.h) per block. Other dtypes take the
// ATen path.
#pragma once

namespace seq2seq_ext {

template <>
class RecurrentKernels<c10::kCPU> {
 public:
  RecurrentKernels(const Tensor& w_hh, int64_t gates, Pass pass, int64_t rows, bool reduced = false,
                   const Tensor& scale = {});

  void lstm_forward(const LstmForwardTensors& t, const Tensor& h) const;
  void gru_forward(const GruForwardTensors& t, const Tensor& h) const;
  void rnn_forward(RnnNonlinearity kind, const RnnForwardTensors& t, const Tensor& h) const;

  void carry(const Tensor& dh, const Tensor& later, const Tensor& later_direct,
             const Tensor& grad_output) const;
  void lstm_backward(const LstmBackwardTensors& t, const Tensor& dh, const Tensor& later,
                     const Tensor& grad_output) const;
  void gru_backward(const GruBackwardTensors& t, const Tensor& dh, const Tensor& later,
                    const Tensor& later_direct, const Tensor& grad_output) const;
  void rnn_backward(RnnNonlinearity kind, const RnnBackwardTensors& t, const Tensor& dh,
                    const Tensor& later, const Tensor& grad_output) const;

 private:
  enum class Path { Aten, Packed, Gemv, Reduced };
  bool blocked() const { return path_ != Path::Aten; }
  // Runs unit(b, j) for every row b < rows and unit j of every block, each
  // block after `gemm(block, first unit, units in the block)`.
  template <class Gemm, class Unit>
  void for_each_block(int64_t units, const Gemm& gemm, const Unit& unit, int64_t rows) const;
  // The forward GEMM of one block: out[:, g*H + j] (+)= (h W_hh^T)[:, g*H + j]
  // for every gate g and unit j of the block.
  void gate_columns(const Tensor& h, const Tensor& out, bool accumulate, int64_t block,
                    int64_t first, int64_t width) const;
  // The carry of one block of dh's columns.
  void carry_columns(const Tensor& dh, const Tensor& later, const Tensor& later_direct,
                     const Tensor& grad_output, int64_t block, int64_t first, int64_t width) const;

  Tensor w_hh_;   // contiguous on the blocked paths
  Tensor scale_;  // of an int8 W_hh
  int64_t gates_;
  Path path_;
  // Forward: W_hh^T cut into (blocks, gates, K, kUnitBlock): panel (block, g)
  // holds the columns of gate g for the block's units. Backward: W_hh cut into
  // (blocks, gates * H, kUnitBlock) along its columns. Packed path only.
  Tensor panels_;
};

}  // namespace seq2seq_ext
