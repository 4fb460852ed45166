// The CPU's RecurrentKernels (see ../recurrent_kernels.h), defined in
// recurrent_kernels.cpp next to this file.
//
// For float32 the hidden units are cut into blocks, which the threads share
// (the same blocks every step, so each thread's share of the weights stays in
// its cache; over a layer's whole sequence the threads stay in one parallel
// region, team.h). Per block and step: the GEMM of the block's columns of every
// gate, then at once the block's units. The GEMM, by path:
//   Tiles (CPUs with AVX-512): register tiles that run the units on their own
//     results (step_tiles.h), on the tile panels of packed_weights.h;
//   Packed: oneDNN's batch-reduce GEMM (at::native::cpublas::brgemm) on the
//     block panels of packed_weights.h;
//   Gemv (batch 1, AVX2 and FMA): matrix-vector loops on W_hh as stored (gemv.h);
//   Reduced (a bfloat16 or int8 W_hh with scales, forward steps only): the
//     reduced dot kernels (core/reduced_linear.h).
// Other dtypes take the ATen path.
#pragma once

#include "step_tiles.h"

namespace seq2seq_ext {

template <>
class RecurrentKernels<c10::kCPU> {
 public:
  RecurrentKernels(const Tensor& w_hh, int64_t gates, Pass pass, int64_t rows, bool reduced = false,
                   const Tensor& scale = {});

  void lstm_forward(const LstmForwardTensors& t, const Tensor& h) const;
  void gru_forward(const GruForwardTensors& t, const Tensor& h) const;
  void rnn_forward(RnnNonlinearity kind, const RnnForwardTensors& t, const Tensor& h) const;

  void lstm_sequence(const PackedSteps& steps, const LayerForward& f) const;
  void gru_sequence(const PackedSteps& steps, const LayerForward& f) const;
  void rnn_sequence(RnnNonlinearity kind, const PackedSteps& steps, const LayerForward& f) const;

  void carry(const Tensor& dh, const Tensor& later, const Tensor& later_direct,
             const Tensor& grad_output) const;
  void lstm_backward(const LstmBackwardTensors& t, const Tensor& dh, const Tensor& later,
                     const Tensor& grad_output) const;
  void gru_backward(const GruBackwardTensors& t, const Tensor& dh, const Tensor& later,
                    const Tensor& later_direct, const Tensor& grad_output) const;
  void rnn_backward(RnnNonlinearity kind, const RnnBackwardTensors& t, const Tensor& dh,
                    const Tensor& later, const Tensor& grad_output) const;

  void lstm_backward_sequence(const PackedSteps& steps, const LayerBackward& b) const;
  void gru_backward_sequence(const PackedSteps& steps, const LayerBackward& b) const;
  void rnn_backward_sequence(RnnNonlinearity kind, const PackedSteps& steps,
                             const LayerBackward& b) const;

 private:
  enum class Path { Aten, Tiles, Packed, Gemv, Reduced };
  // The blocks of `units` hidden units (or columns of dh) the path cuts.
  int64_t blocks(int64_t units) const;
  // One forward step on blocks [begin, end): gates (+)= h W_hh^T block by
  // block (step_tiles::ForwardStep), each block's units after its GEMM.
  template <class Unit>
  void forward_blocks(const Unit& unit, step_tiles::ForwardStep step, int64_t begin,
                      int64_t end) const;
  // One backward step on blocks [begin, end) of dh's columns: the carry c,
  // then the backward units on the block (none: NoUnits).
  template <class BackwardUnits>
  void backward_blocks(const step_tiles::Carry& c, const BackwardUnits& units, int64_t begin,
                       int64_t end) const;
  // The carry of step s of a layer's backward (s = -1: into the initial
  // state): the gate gradients of step s + 1 in later_gates (N, K).
  step_tiles::Carry sequence_carry(const PackedSteps& steps, int64_t s, const LayerBackward& b,
                                   const Tensor& later_gates, const Tensor& later_direct) const;
  // A reduced W_hh's forward step: each block's dot products, then its units.
  template <class Unit>
  void reduced_forward(const Unit& unit, const Tensor& h, const Tensor& gates, bool accumulate,
                       int64_t units) const;

  Tensor w_hh_;   // contiguous on the blocked paths
  Tensor scale_;  // of an int8 W_hh
  int64_t gates_;
  Pass pass_;
  Path path_;
  Tensor panels_;  // packed_weights.h's layout for the path and pass (Tiles, Packed)
};

}  // namespace seq2seq_ext
