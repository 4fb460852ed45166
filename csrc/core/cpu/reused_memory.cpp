// CPU memory for the layer ops' large tensors, kept for reuse (buffers.h says
// why). A freed block goes to a free list instead of back to malloc; the next
// request takes the smallest free block that fits it without wasting more
// than its own size. Blocks under 1 MiB, and blocks beyond 256 MiB kept, go to
// malloc as usual. Allocations and frees are reported to torch's profiler, as
// torch's own CPU allocator does, so memory profiles still see them.
#include <ATen/EmptyTensor.h>
#include <c10/core/Allocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <map>
#include <mutex>

#include "core/buffers.h"

namespace seq2seq_ext {
namespace {

constexpr size_t kSmallestReusedBytes = size_t{1} << 20;
constexpr size_t kMostKeptBytes = size_t{256} << 20;

struct Block {
  void* data;
  size_t bytes;
};

// The blocks kept for reuse, by size. Leaked on purpose: tensors may be freed
// after static destructors ran.
struct FreeBlocks {
  std::mutex lock;
  std::multimap<size_t, Block*> by_size;
  size_t bytes = 0;
};

FreeBlocks& free_blocks() {
  static auto* blocks = new FreeBlocks();
  return *blocks;
}

void report(const Block* block, int64_t bytes) {
  if (c10::memoryProfilingEnabled()) {
    c10::reportMemoryUsageToProfiler(block->data, bytes, 0, 0, c10::Device(c10::DeviceType::CPU));
  }
}

Block* take(size_t bytes) {
  FreeBlocks& kept = free_blocks();
  std::lock_guard<std::mutex> guard(kept.lock);
  auto fit = kept.by_size.lower_bound(bytes);
  if (fit == kept.by_size.end() || fit->first > 2 * bytes) return nullptr;
  Block* block = fit->second;
  kept.by_size.erase(fit);
  kept.bytes -= block->bytes;
  return block;
}

void give_back(void* context) {
  auto* block = static_cast<Block*>(context);
  report(block, -static_cast<int64_t>(block->bytes));
  {
    FreeBlocks& kept = free_blocks();
    std::lock_guard<std::mutex> guard(kept.lock);
    if (kept.bytes + block->bytes <= kMostKeptBytes) {
      kept.bytes += block->bytes;
      kept.by_size.emplace(block->bytes, block);
      return;
    }
  }
  c10::free_cpu(block->data);
  delete block;
}

class ReusedCpuMemory final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t bytes) override {
    Block* block = take(bytes);
    if (block == nullptr) block = new Block{c10::alloc_cpu(bytes), bytes};
    report(block, static_cast<int64_t>(block->bytes));
    return {block->data, block, &give_back, c10::Device(c10::DeviceType::CPU)};
  }

  void copy_data(void* dest, const void* src, size_t count) const override {
    default_copy_data(dest, src, count);
  }
};

}  // namespace

at::Tensor empty_in_reused_cpu_memory(at::IntArrayRef sizes, const at::TensorOptions& options) {
  const size_t bytes = c10::multiply_integers(sizes) * options.dtype().itemsize();
  if (bytes < kSmallestReusedBytes) return at::empty(sizes, options);
  static ReusedCpuMemory allocator;
  return at::detail::empty_generic(sizes, &allocator, c10::DispatchKeySet(c10::DispatchKey::CPU),
                                   c10::typeMetaToScalarType(options.dtype()), std::nullopt);
}

}  // namespace seq2seq_ext
