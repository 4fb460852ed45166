// The pointwise half of every cell op, as "units": a functor that handles one
// hidden unit `j` of one batch row `b`. The CPU loops over rows in parallel and
// over units in order; the CUDA kernel gives each (b, j) a thread. Both call the
// same functor, so the loads, bias handling and stores exist once, here.
//
// All tensors handed to a unit are contiguous (the ops in cell_ops.h make sure);
// gate buffers are laid out (B, G*H) in PyTorch's gate order.
#pragma once

#include <ATen/OpMathType.h>

#include "core/cell_math.h"
#include "core/op_types.h"

namespace seq2seq_ext {

// Tensor bundles: what one pointwise kernel reads and writes. Biases are
// always given (zeros for a cell without bias): a branch on a missing bias
// would keep the compiler from vectorizing the CPU loop.
struct LstmForwardTensors {
  Tensor gates, b_ih, b_hh, cx;  // gates = x W_ih^T + h W_hh^T, (B, 4H)
  Tensor hy, cy, workspace;      // workspace: activated i, f, g, o, (B, 4H); may be gates
};
struct LstmBackwardTensors {
  Tensor grad_hy, grad_cy, cx, cy, workspace;
  Tensor grad_gates, grad_cx;  // grad_gates: of the pre-activations, (B, 4H)
};
struct GruForwardTensors {
  Tensor xgates, hgates, b_ih, b_hh, hx;  // x W_ih^T and h W_hh^T, (B, 3H) each
  Tensor hy, workspace;                   // workspace: r, z, n, hn, (B, 4H)
};
struct GruBackwardTensors {
  Tensor grad_hy, hx, workspace;
  Tensor grad_xgates, grad_hgates, grad_hx_direct;
};
struct RnnForwardTensors {
  Tensor gates, b_ih, b_hh;  // gates = x W_ih^T + h W_hh^T, (B, H)
  Tensor hy;
};
struct RnnBackwardTensors {
  Tensor grad_hy, hy;
  Tensor grad_gates;
};

template <typename scalar_t>
struct LstmForwardUnit {
  using acc_t = at::opmath_type<scalar_t>;
  const scalar_t *gates, *b_ih, *b_hh, *cx;
  scalar_t *hy, *cy, *workspace;
  int64_t H;

  explicit LstmForwardUnit(const LstmForwardTensors& t)
      : gates(t.gates.const_data_ptr<scalar_t>()),
        b_ih(t.b_ih.const_data_ptr<scalar_t>()),
        b_hh(t.b_hh.const_data_ptr<scalar_t>()),
        cx(t.cx.const_data_ptr<scalar_t>()),
        hy(t.hy.mutable_data_ptr<scalar_t>()),
        cy(t.cy.mutable_data_ptr<scalar_t>()),
        workspace(t.workspace.mutable_data_ptr<scalar_t>()),
        H(t.cx.size(1)) {}

  SEQ2SEQ_HOST_DEVICE acc_t pre(int64_t b, int64_t gate, int64_t j) const {
    const int64_t k = gate * H + j;
    return static_cast<acc_t>(gates[b * kLstmGates * H + k]) + static_cast<acc_t>(b_ih[k]) +
           static_cast<acc_t>(b_hh[k]);
  }

  SEQ2SEQ_HOST_DEVICE void operator()(int64_t b, int64_t j) const {
    const auto a = lstm_activate(pre(b, 0, j), pre(b, 1, j), pre(b, 2, j), pre(b, 3, j));
    const acc_t c = lstm_next_cell(a, static_cast<acc_t>(cx[b * H + j]));
    cy[b * H + j] = static_cast<scalar_t>(c);
    hy[b * H + j] = static_cast<scalar_t>(lstm_next_hidden(a, c));
    scalar_t* ws = workspace + b * kLstmGates * H + j;
    ws[0] = static_cast<scalar_t>(a.i);
    ws[H] = static_cast<scalar_t>(a.f);
    ws[2 * H] = static_cast<scalar_t>(a.g);
    ws[3 * H] = static_cast<scalar_t>(a.o);
  }
};

template <typename scalar_t>
struct LstmBackwardUnit {
  using acc_t = at::opmath_type<scalar_t>;
  const scalar_t *grad_hy, *grad_cy, *cx, *cy, *workspace;
  scalar_t *grad_gates, *grad_cx;
  int64_t H;

  explicit LstmBackwardUnit(const LstmBackwardTensors& t)
      : grad_hy(t.grad_hy.const_data_ptr<scalar_t>()),
        grad_cy(t.grad_cy.const_data_ptr<scalar_t>()),
        cx(t.cx.const_data_ptr<scalar_t>()),
        cy(t.cy.const_data_ptr<scalar_t>()),
        workspace(t.workspace.const_data_ptr<scalar_t>()),
        grad_gates(t.grad_gates.mutable_data_ptr<scalar_t>()),
        grad_cx(t.grad_cx.mutable_data_ptr<scalar_t>()),
        H(t.cx.size(1)) {}

  SEQ2SEQ_HOST_DEVICE void operator()(int64_t b, int64_t j) const {
    const scalar_t* ws = workspace + b * kLstmGates * H + j;
    const LstmGates<acc_t> a{static_cast<acc_t>(ws[0]), static_cast<acc_t>(ws[H]),
                             static_cast<acc_t>(ws[2 * H]), static_cast<acc_t>(ws[3 * H])};
    const int64_t u = b * H + j;
    const auto g = lstm_backward(a, static_cast<acc_t>(cx[u]), static_cast<acc_t>(cy[u]),
                                 static_cast<acc_t>(grad_hy[u]), static_cast<acc_t>(grad_cy[u]));
    scalar_t* dg = grad_gates + b * kLstmGates * H + j;
    dg[0] = static_cast<scalar_t>(g.di);
    dg[H] = static_cast<scalar_t>(g.df);
    dg[2 * H] = static_cast<scalar_t>(g.dg);
    dg[3 * H] = static_cast<scalar_t>(g.do_);
    grad_cx[u] = static_cast<scalar_t>(g.dc_prev);
  }
};

template <typename scalar_t>
struct GruForwardUnit {
  using acc_t = at::opmath_type<scalar_t>;
  const scalar_t *xgates, *hgates, *b_ih, *b_hh, *hx;
  scalar_t *hy, *workspace;
  int64_t H;

  explicit GruForwardUnit(const GruForwardTensors& t)
      : xgates(t.xgates.const_data_ptr<scalar_t>()),
        hgates(t.hgates.const_data_ptr<scalar_t>()),
        b_ih(t.b_ih.const_data_ptr<scalar_t>()),
        b_hh(t.b_hh.const_data_ptr<scalar_t>()),
        hx(t.hx.const_data_ptr<scalar_t>()),
        hy(t.hy.mutable_data_ptr<scalar_t>()),
        workspace(t.workspace.mutable_data_ptr<scalar_t>()),
        H(t.hx.size(1)) {}

  SEQ2SEQ_HOST_DEVICE acc_t x_pre(int64_t b, int64_t gate, int64_t j) const {
    const int64_t k = gate * H + j;
    return static_cast<acc_t>(xgates[b * kGruGates * H + k]) + static_cast<acc_t>(b_ih[k]);
  }
  SEQ2SEQ_HOST_DEVICE acc_t h_pre(int64_t b, int64_t gate, int64_t j) const {
    const int64_t k = gate * H + j;
    return static_cast<acc_t>(hgates[b * kGruGates * H + k]) + static_cast<acc_t>(b_hh[k]);
  }

  SEQ2SEQ_HOST_DEVICE void operator()(int64_t b, int64_t j) const {
    const acc_t hn = h_pre(b, 2, j);
    const auto a = gru_activate(x_pre(b, 0, j), x_pre(b, 1, j), x_pre(b, 2, j), h_pre(b, 0, j),
                                h_pre(b, 1, j), hn);
    hy[b * H + j] = static_cast<scalar_t>(gru_next_hidden(a, static_cast<acc_t>(hx[b * H + j])));
    scalar_t* ws = workspace + b * kGruSaved * H + j;
    ws[0] = static_cast<scalar_t>(a.r);
    ws[H] = static_cast<scalar_t>(a.z);
    ws[2 * H] = static_cast<scalar_t>(a.n);
    ws[3 * H] = static_cast<scalar_t>(hn);
  }
};

template <typename scalar_t>
struct GruBackwardUnit {
  using acc_t = at::opmath_type<scalar_t>;
  const scalar_t *grad_hy, *hx, *workspace;
  scalar_t *grad_xgates, *grad_hgates, *grad_hx_direct;
  int64_t H;

  explicit GruBackwardUnit(const GruBackwardTensors& t)
      : grad_hy(t.grad_hy.const_data_ptr<scalar_t>()),
        hx(t.hx.const_data_ptr<scalar_t>()),
        workspace(t.workspace.const_data_ptr<scalar_t>()),
        grad_xgates(t.grad_xgates.mutable_data_ptr<scalar_t>()),
        grad_hgates(t.grad_hgates.mutable_data_ptr<scalar_t>()),
        grad_hx_direct(t.grad_hx_direct.mutable_data_ptr<scalar_t>()),
        H(t.hx.size(1)) {}

  SEQ2SEQ_HOST_DEVICE void operator()(int64_t b, int64_t j) const {
    const scalar_t* ws = workspace + b * kGruSaved * H + j;
    const GruGates<acc_t> a{static_cast<acc_t>(ws[0]), static_cast<acc_t>(ws[H]),
                            static_cast<acc_t>(ws[2 * H])};
    const int64_t u = b * H + j;
    const auto g = gru_backward(a, static_cast<acc_t>(ws[3 * H]), static_cast<acc_t>(hx[u]),
                                static_cast<acc_t>(grad_hy[u]));
    scalar_t* dx = grad_xgates + b * kGruGates * H + j;
    scalar_t* dh = grad_hgates + b * kGruGates * H + j;
    dx[0] = dh[0] = static_cast<scalar_t>(g.dr);
    dx[H] = dh[H] = static_cast<scalar_t>(g.dz);
    dx[2 * H] = static_cast<scalar_t>(g.dn_x);
    dh[2 * H] = static_cast<scalar_t>(g.dn_h);
    grad_hx_direct[u] = static_cast<scalar_t>(g.dh_direct);
  }
};

template <typename scalar_t, RnnNonlinearity kind>
struct RnnForwardUnit {
  using acc_t = at::opmath_type<scalar_t>;
  const scalar_t *gates, *b_ih, *b_hh;
  scalar_t* hy;
  int64_t H;

  explicit RnnForwardUnit(const RnnForwardTensors& t)
      : gates(t.gates.const_data_ptr<scalar_t>()),
        b_ih(t.b_ih.const_data_ptr<scalar_t>()),
        b_hh(t.b_hh.const_data_ptr<scalar_t>()),
        hy(t.hy.mutable_data_ptr<scalar_t>()),
        H(t.hy.size(1)) {}

  SEQ2SEQ_HOST_DEVICE void operator()(int64_t b, int64_t j) const {
    const acc_t pre = static_cast<acc_t>(gates[b * H + j]) + static_cast<acc_t>(b_ih[j]) +
                      static_cast<acc_t>(b_hh[j]);
    hy[b * H + j] = static_cast<scalar_t>(rnn_activate<kind>(pre));
  }
};

template <typename scalar_t, RnnNonlinearity kind>
struct RnnBackwardUnit {
  using acc_t = at::opmath_type<scalar_t>;
  const scalar_t *grad_hy, *hy;
  scalar_t* grad_gates;
  int64_t H;

  explicit RnnBackwardUnit(const RnnBackwardTensors& t)
      : grad_hy(t.grad_hy.const_data_ptr<scalar_t>()),
        hy(t.hy.const_data_ptr<scalar_t>()),
        grad_gates(t.grad_gates.mutable_data_ptr<scalar_t>()),
        H(t.hy.size(1)) {}

  SEQ2SEQ_HOST_DEVICE void operator()(int64_t b, int64_t j) const {
    const int64_t u = b * H + j;
    grad_gates[u] = static_cast<scalar_t>(
        rnn_backward<kind>(static_cast<acc_t>(hy[u]), static_cast<acc_t>(grad_hy[u])));
  }
};

// The Elman units with their nonlinearity fixed, as one-parameter templates.
template <typename scalar_t>
using RnnTanhForwardUnit = RnnForwardUnit<scalar_t, RnnNonlinearity::Tanh>;
template <typename scalar_t>
using RnnReluForwardUnit = RnnForwardUnit<scalar_t, RnnNonlinearity::Relu>;
template <typename scalar_t>
using RnnTanhBackwardUnit = RnnBackwardUnit<scalar_t, RnnNonlinearity::Tanh>;
template <typename scalar_t>
using RnnReluBackwardUnit = RnnBackwardUnit<scalar_t, RnnNonlinearity::Relu>;

}  // namespace seq2seq_ext
