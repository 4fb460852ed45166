// The op library seq2seq_ext: TORCH_LIBRARY, which owns the namespace, and the
// one op of the core, cpu_isa. Each op family (cells/, layers/, attention/,
// decoding/, stepwise_pass/) declares its ops in its schema.cpp
// (TORCH_LIBRARY_FRAGMENT) and registers their kernels per device in its
// cpu/register.cpp and cuda/register.cpp; fake (meta) kernels, autograd and
// autocast in seq2seq_ext/_ops/.
//
// Each forward op returns what its backward needs beyond its inputs
// (`workspace`); the Python wrappers in functional.py drop it. Each backward op
// takes output_mask = which gradients to compute: (input, hx, weights and
// biases); a gradient not asked for comes back as an empty tensor, its GEMM skipped.
#include <torch/library.h>

#include "cpu/isa.h"

TORCH_LIBRARY(seq2seq_ext, m) {
  // Which copy of the CPU's vector loops runs (cpu/isa.h): "baseline", "avx2"
  // or "avx512", after SEQ2SEQ_EXT_CPU_ISA's cap.
  m.def("cpu_isa() -> str", [] {
    switch (seq2seq_ext::best_cpu_isa()) {
      case seq2seq_ext::CpuIsa::Avx512:
        return std::string("avx512");
      case seq2seq_ext::CpuIsa::Avx2Fma:
        return std::string("avx2");
      case seq2seq_ext::CpuIsa::Baseline:
        break;
    }
    return std::string("baseline");
  });
}
