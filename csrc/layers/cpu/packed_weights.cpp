// The packed layouts of W_hh and their cache (packed_weights.h).
#include "packed_weights.h"

#include <ATen/ops/constant_pad_nd.h>
#include <c10/core/StorageImpl.h>

#include <atomic>
#include <list>
#include <mutex>

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

Tensor forward_panels(const Tensor& w_hh, int64_t gates, PanelKind kind) {
  const int64_t width = kind == PanelKind::Blocks ? kUnitBlock : step_tiles::forward_width(gates);
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

// A packed copy and what it was made from.
struct PackedCopy {
  // The weight's storage: weakly held, so that it is not kept alive, and its
  // StorageImpl not reused for another while this entry exists.
  c10::weak_intrusive_ptr<c10::StorageImpl> storage;
  int64_t offset;
  std::vector<int64_t> sizes, strides;
  int64_t gates;
  PanelKind kind;
  bool forward;
  // Valid while the weight has these.
  const void* data;
  uint32_t version;
  Tensor panels;

  bool same_place(const Tensor& w, int64_t g, PanelKind k, bool f) const {
    return storage._unsafe_get_target() == w.storage().unsafeGetStorageImpl() &&
           offset == w.storage_offset() && sizes == w.sizes() && strides == w.strides() &&
           gates == g && kind == k && forward == f;
  }
};

class PackedCache {
 public:
  Tensor get(const Tensor& w, int64_t gates, PanelKind kind, bool forward) {
    if (w.is_inference() || !w.has_storage()) return pack(w, gates, kind, forward);
    const uint32_t version = w.unsafeGetTensorImpl()->version_counter().current_version();
    std::lock_guard<std::mutex> lock(mutex_);
    copies_.remove_if([](const PackedCopy& c) { return c.storage.expired(); });
    for (auto it = copies_.begin(); it != copies_.end(); ++it) {
      if (!it->same_place(w, gates, kind, forward)) continue;
      if (it->data == w.const_data_ptr() && it->version == version) {
        ++served_;
        copies_.splice(copies_.begin(), copies_, it);  // most recently used first
        return it->panels;
      }
      copies_.erase(it);  // its weight has changed
      break;
    }
    Tensor panels = pack(w, gates, kind, forward);
    copies_.push_front({c10::weak_intrusive_ptr<c10::StorageImpl>(w.storage().getWeakStorageImpl()),
                        w.storage_offset(), w.sizes().vec(), w.strides().vec(), gates, kind,
                        forward, w.const_data_ptr(), version, panels});
    if (copies_.size() > kMaxPackedCopies) copies_.pop_back();
    return panels;
  }

  void clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    copies_.clear();
  }

  std::vector<int64_t> counts() {
    std::lock_guard<std::mutex> lock(mutex_);
    copies_.remove_if([](const PackedCopy& c) { return c.storage.expired(); });
    return {static_cast<int64_t>(copies_.size()), made_, served_};
  }

 private:
  Tensor pack(const Tensor& w, int64_t gates, PanelKind kind, bool forward) {
    ++made_;
    return forward ? forward_panels(w, gates, kind) : backward_panels(w, kind);
  }

  std::mutex mutex_;
  std::list<PackedCopy> copies_;
  std::atomic<int64_t> made_ = 0, served_ = 0;
};

PackedCache& cache() {
  static PackedCache* instance = new PackedCache();  // never destroyed: used until exit
  return *instance;
}

}  // namespace

Tensor packed_panels(const Tensor& w_hh, int64_t gates, PanelKind kind, bool forward) {
  return cache().get(w_hh, gates, kind, forward);
}

std::vector<int64_t> packed_weight_cache_counts() { return cache().counts(); }

void clear_packed_weights() { cache().clear(); }

}  // namespace seq2seq_ext
