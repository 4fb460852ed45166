// The inner loops of the CPU's Bahdanau attention (attention_kernels.cpp) over
// the attention size A, for one query row q and one source position's key k,
// as an AVX-512 copy with FMA for float32 (bahdanau_rows_avx512.cpp): tanh over
// 16 units at a time (core/cpu/vec512.h), the products summed in 16 lanes.
// The other copies are the loops in attention_kernels.cpp, which the compiler
// vectorizes for the baseline and AVX2.
#pragma once

#include <cstdint>

#include "core/cpu/isa.h"

namespace seq2seq_ext {

#if SEQ2SEQ_X86_64
// v . tanh(q + k), over A.
float bahdanau_score_avx512(const float* q, const float* k, const float* v, int64_t A);

// With th = tanh(q + k) and g = ds v (1 - th^2): gk += g, gq += g, gv += ds th.
void bahdanau_score_backward_avx512(const float* q, const float* k, const float* v, float ds,
                                    int64_t A, float* gk, float* gq, float* gv);
#endif

}  // namespace seq2seq_ext
