// Device-independent helpers of the layer ops: the final GEMMs.
#include "layer_ops.h"

namespace seq2seq_ext {

CellGemmGrads layer_gemm_backward(const PackedSteps& steps, const Tensor& grad_xgates,
                                  const Tensor& grad_hgates, const Tensor& input,
                                  const Tensor& output, const Tensor& h0, const Tensor& w_ih,
                                  const Tensor& w_hh, OutputMask mask) {
  const bool want_weights = mask[2];
  // Step s's GEMM read the state before it: W_hh's gradient needs them all.
  const Tensor h_previous = want_weights ? steps.all_previous(output, h0) : Tensor();
  return cell_gemm_backward(grad_xgates, grad_hgates, input, h_previous, w_ih, w_hh, {},
                            {mask[0], false, want_weights});
}

}  // namespace seq2seq_ext
