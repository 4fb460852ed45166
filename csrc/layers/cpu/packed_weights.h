// W_hh copied into the layouts the CPU's step kernels read (recurrent_kernels.h),
// for the forward and the backward.
//
//   block panels (oneDNN's brgemm, blocks of kUnitBlock units): forward
//     (blocks, G, K, kUnitBlock), block b and gate g holding W_hh^T's columns
//     g*H + b*kUnitBlock + n; backward (blocks, G*H, kUnitBlock), W_hh's
//     columns b*kUnitBlock + n;
//   tile panels (step_tiles.h, groups of `width` units): forward (groups, K,
//     G, width), group q's row k holding W_hh[g*H + q*width + n, k] for every
//     gate g; backward (groups, G*H, width), W_hh's columns q*width + n.
// Every layout is zero past the last unit.
#pragma once

#include "core/op_types.h"

namespace seq2seq_ext {

// Hidden units per block of the brgemm path. Each block's GEMM writes rows x
// kUnitBlock floats of every gate (4 AVX2 vectors of a row), and H /
// kUnitBlock blocks leave work for every thread at H = 256. 32 measured best
// at B = 64 on AVX2; 64 is as good at B = 1.
constexpr int64_t kUnitBlock = 32;

inline int64_t block_count(int64_t units, int64_t width) { return (units + width - 1) / width; }

enum class PanelKind { Blocks, Tiles };

// W_hh (G*H, K) in `kind`'s layout for the forward (pass_forward) or the
// backward.
Tensor forward_panels(const Tensor& w_hh, int64_t gates, PanelKind kind);
Tensor backward_panels(const Tensor& w_hh, PanelKind kind);

}  // namespace seq2seq_ext
