// The packed layouts of W_hh (packed_weights.h).
#include "packed_weights.h"

#include <ATen/ops/constant_pad_nd.h>

#include <vector>

#include "step_tiles.h"

namespace seq2seq_ext {
namespace {

// `w` with dimension `dim` zero-padded to `size` (no copy when it has that size).
Tensor zero_pad(const Tensor& w, int64_t dim, int64_t size) {
  if (w.size(dim) == size) return w;
  std::vector<int64_t> pad(2 * (w.dim() - dim), 0);  // constant_pad_nd pads from the last dim
  pad.back() = size - w.size(dim);
  return at::constant_pad_nd(w, pad);
}

}  // namespace

Tensor forward_panels(const Tensor& w_hh, int64_t gates, PanelKind kind) {
  const int64_t width =
      kind == PanelKind::Blocks ? kUnitBlock : step_tiles::forward_width(gates);
  const int64_t H = w_hh.size(0) / gates, K = w_hh.size(1), groups = block_count(H, width);
  const Tensor padded = zero_pad(w_hh.contiguous().view({gates, H, K}), 1, groups * width)
                            .view({gates, groups, width, K});
  // Blocks: (groups, G, K, width); tiles: (groups, K, G, width).
  return (kind == PanelKind::Blocks ? padded.permute({1, 0, 3, 2}) : padded.permute({1, 3, 0, 2}))
      .contiguous();
}

Tensor backward_panels(const Tensor& w_hh, PanelKind kind) {
  const int64_t width = kind == PanelKind::Blocks ? kUnitBlock : step_tiles::kBackwardWidth;
  const int64_t rows = w_hh.size(0), N = w_hh.size(1), groups = block_count(N, width);
  const Tensor padded = zero_pad(w_hh.contiguous(), 1, groups * width);
  return padded.view({rows, groups, width}).permute({1, 0, 2}).contiguous();
}

}  // namespace seq2seq_ext
