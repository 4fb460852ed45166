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
//
// packed_panels keeps the copies it makes while their weight is unchanged, so
// that repeated calls on the same weights (inference, decoding) pack nothing.
// A copy is found by the weight's storage, offset, sizes and strides and the
// layout, and used only while the weight's data pointer and version counter are
// those it was packed from: every in-place change of a tensor bumps its
// version (an optimizer's step, load_state_dict's copy_, an update under
// torch.no_grad()), so the next call packs again. torch's fused optimizers
// (Adam(fused=True), ...) change weights without bumping their versions: any
// torch.optim step empties the cache (clear_packed_weights, called from a hook
// seq2seq_ext/_ops/layers.py registers). Writing through `.data` bypasses the
// version counter, as it bypasses autograd, and is not seen.
// Inference tensors have no version counter: theirs are packed every call. A
// copy goes when its weight's storage is freed, or when the cache holds
// kMaxPackedCopies copies, the one least recently used.
#pragma once

#include <vector>

#include "core/op_types.h"

namespace seq2seq_ext {

// Hidden units per block of the brgemm path. Each block's GEMM writes rows x
// kUnitBlock floats of every gate (4 AVX2 vectors of a row), and H /
// kUnitBlock blocks leave work for every thread at H = 256. 32 measured best
// at B = 64 on AVX2; 64 is as good at B = 1.
constexpr int64_t kUnitBlock = 32;

inline int64_t block_count(int64_t units, int64_t width) { return (units + width - 1) / width; }

enum class PanelKind { Blocks, Tiles };

// W_hh (G*H, K, float32, contiguous) in `kind`'s layout for the forward or the
// backward, from the cache or packed now.
Tensor packed_panels(const Tensor& w_hh, int64_t gates, PanelKind kind, bool forward);

constexpr size_t kMaxPackedCopies = 64;

// What the cache holds and has done: {copies held, copies made, calls served
// from it} (the op seq2seq_ext::packed_weight_cache).
std::vector<int64_t> packed_weight_cache_counts();

// Empties the cache (the op seq2seq_ext::clear_packed_weights).
void clear_packed_weights();

}  // namespace seq2seq_ext
