// Gate math of the recurrent cells, written once for the CPU and the CUDA kernels.
//
// Every function works on one hidden unit of one batch row. `T` is the
// accumulation type (float for float/half/bfloat16, double for double): the
// kernels load their storage type, convert to T, call these, and convert back.
//
// Gate order and formulas are PyTorch's (torch.nn.LSTMCell / GRUCell / RNNCell).
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

// Always inlined: the CPU loops vectorize only when no call is left in them.
#if defined(__CUDACC__)
#define SEQ2SEQ_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define SEQ2SEQ_HOST_DEVICE inline __attribute__((always_inline))
#endif

namespace seq2seq_ext {

// ---------------------------------------------------------------- exp, tanh
// On the CPU in float, the C library's expf / tanhf are scalar calls that cost
// more than the GEMMs around them. This exp is plain arithmetic (Cephes' expf:
// x = n ln2 + r, |r| <= ln2/2, exp(r) by a degree-7 polynomial, 2^n from the
// exponent bits; within 2 ulp), so the compiler vectorizes the loops that call
// it. The GPU and double precision use the math library.
SEQ2SEQ_HOST_DEVICE float polynomial_expf(float x) {
  // Beyond these bounds exp overflows or underflows float: return inf and 0, as
  // the C library does, so sigmoid and tanh saturate to exactly 0 and +-1 (an
  // infinite state times f = 0 is NaN, as in torch). Inside, 2^n below is a
  // normal float. The comparisons and selects always run: a branch would keep
  // the compiler from vectorizing. NaN fails every comparison and stays NaN.
  const bool overflows = x > 88.3f, underflows = x < -87.3f;
  x = overflows ? 88.3f : x;
  x = underflows ? -87.3f : x;
  // n = round(x / ln2): adding and subtracting 1.5 * 2^23 rounds to an integer.
  const float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
  const float r = x - n * 0.693359375f + n * 2.12194440e-4f;  // ln2 in two parts
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float exp_r = p * r * r + r + 1.0f;
  const float two_to_n = std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);
  const float result = exp_r * two_to_n;
  return overflows ? std::numeric_limits<float>::infinity() : (underflows ? 0.0f : result);
}

template <typename T>
SEQ2SEQ_HOST_DEVICE T exp_(T x) {
#if !defined(__CUDA_ARCH__)
  if constexpr (std::is_same_v<T, float>) return polynomial_expf(x);
#endif
  return std::exp(x);
}

// tanh(x) = 2 / (1 + e^-2x) - 1; absolute error ~1e-7 in float.
template <typename T>
SEQ2SEQ_HOST_DEVICE T tanh_(T x) {
#if !defined(__CUDA_ARCH__)
  if constexpr (std::is_same_v<T, float>) return 2.0f / (1.0f + polynomial_expf(-2.0f * x)) - 1.0f;
#endif
  return std::tanh(x);
}

template <typename T>
SEQ2SEQ_HOST_DEVICE T sigmoid(T x) {
  return T(1) / (T(1) + exp_(-x));
}

// max(x, 0); NaN stays NaN, as torch.relu keeps it.
template <typename T>
SEQ2SEQ_HOST_DEVICE T relu_(T x) {
  return x < T(0) ? T(0) : x;
}

// The ReLU's backward from its output h: dh where h > 0, else 0.
template <typename T>
SEQ2SEQ_HOST_DEVICE T relu_grad_(T h, T dh) {
  return h > T(0) ? dh : T(0);
}

// ---------------------------------------------------------------- LSTM
// Gate blocks of the weights: w_ih is (4H, I), w_hh (4H, H), in the order i, f, g, o.
constexpr int64_t kLstmGates = 4;

// Pre-activations i, f, g, o (biases already added) and the previous cell c.
//   i = σ(i), f = σ(f), g = tanh(g), o = σ(o)
//   c' = f * c + i * g,  h' = o * tanh(c')
// The activated gates are kept for the backward pass.
template <typename T>
struct LstmGates {
  T i, f, g, o;
};

template <typename T>
SEQ2SEQ_HOST_DEVICE LstmGates<T> lstm_activate(T i, T f, T g, T o) {
  return {sigmoid(i), sigmoid(f), tanh_(g), sigmoid(o)};
}

template <typename T>
SEQ2SEQ_HOST_DEVICE T lstm_next_cell(const LstmGates<T>& a, T c_prev) {
  return a.f * c_prev + a.i * a.g;
}

template <typename T>
SEQ2SEQ_HOST_DEVICE T lstm_next_hidden(const LstmGates<T>& a, T c_next) {
  return a.o * tanh_(c_next);
}

// Backward of one LSTM unit. dh, dc: gradients flowing into h' and c'.
// Returns the gradients of the four pre-activations and of c.
// With t = tanh(c'):  dc_total = dc + dh * o * (1 - t²)
//   d(o_pre) = dh * t * o(1-o)        d(i_pre) = dc_total * g * i(1-i)
//   d(g_pre) = dc_total * i * (1-g²)  d(f_pre) = dc_total * c * f(1-f)
//   d(c)     = dc_total * f
template <typename T>
struct LstmGrads {
  T di, df, dg, do_, dc_prev;
};

template <typename T>
SEQ2SEQ_HOST_DEVICE LstmGrads<T> lstm_backward(const LstmGates<T>& a, T c_prev, T c_next, T dh,
                                               T dc) {
  const T t = tanh_(c_next);
  const T dc_total = dc + dh * a.o * (T(1) - t * t);
  LstmGrads<T> g;
  g.do_ = dh * t * a.o * (T(1) - a.o);
  g.di = dc_total * a.g * a.i * (T(1) - a.i);
  g.dg = dc_total * a.i * (T(1) - a.g * a.g);
  g.df = dc_total * c_prev * a.f * (T(1) - a.f);
  g.dc_prev = dc_total * a.f;
  return g;
}

// ---------------------------------------------------------------- GRU
// Gate blocks of the weights: r, z, n. The kernels save four values per unit
// for the backward: r, z, n and hn = W_hn h + b_hn.
constexpr int64_t kGruGates = 3;
constexpr int64_t kGruSaved = 4;

// x-side pre-activations (W_i* x + b_i*) and h-side (W_h* h + b_h*) are kept
// apart because the reset gate multiplies only the h-side of the new gate:
//   r = σ(xr + hr),  z = σ(xz + hz),  n = tanh(xn + r * hn)
//   h' = (1 - z) * n + z * h
template <typename T>
struct GruGates {
  T r, z, n;
};

template <typename T>
SEQ2SEQ_HOST_DEVICE GruGates<T> gru_activate(T xr, T xz, T xn, T hr, T hz, T hn) {
  const T r = sigmoid(xr + hr);
  return {r, sigmoid(xz + hz), tanh_(xn + r * hn)};
}

template <typename T>
SEQ2SEQ_HOST_DEVICE T gru_next_hidden(const GruGates<T>& a, T h_prev) {
  return (T(1) - a.z) * a.n + a.z * h_prev;
}

// Backward of one GRU unit, given dh = dL/dh' and the saved hn.
//   dn_pre = dh (1-z) (1-n²)         -> x-side n and, times r, h-side n
//   dz_pre = dh (h - n) z (1-z)      -> both sides
//   dr_pre = dn_pre hn r (1-r)       -> both sides
//   dh_direct = dh z                 (the path that skips the matmul)
template <typename T>
struct GruGrads {
  T dr, dz, dn_x, dn_h, dh_direct;
};

template <typename T>
SEQ2SEQ_HOST_DEVICE GruGrads<T> gru_backward(const GruGates<T>& a, T hn, T h_prev, T dh) {
  GruGrads<T> g;
  const T dn_pre = dh * (T(1) - a.z) * (T(1) - a.n * a.n);
  g.dn_x = dn_pre;
  g.dn_h = dn_pre * a.r;
  g.dz = dh * (h_prev - a.n) * a.z * (T(1) - a.z);
  g.dr = dn_pre * hn * a.r * (T(1) - a.r);
  g.dh_direct = dh * a.z;
  return g;
}

// ---------------------------------------------------------------- Elman RNN
constexpr int64_t kRnnGates = 1;

//   h' = tanh(pre) or relu(pre). The derivative is written in terms of the
//   output h', so the backward needs no saved pre-activation.
enum class RnnNonlinearity { Tanh, Relu };

template <RnnNonlinearity kind, typename T>
SEQ2SEQ_HOST_DEVICE T rnn_activate(T pre) {
  if constexpr (kind == RnnNonlinearity::Tanh) {
    return tanh_(pre);
  } else {
    return relu_(pre);
  }
}

template <RnnNonlinearity kind, typename T>
SEQ2SEQ_HOST_DEVICE T rnn_backward(T h_next, T dh) {
  if constexpr (kind == RnnNonlinearity::Tanh) {
    return dh * (T(1) - h_next * h_next);
  } else {
    return relu_grad_(h_next, dh);
  }
}

}  // namespace seq2seq_ext
