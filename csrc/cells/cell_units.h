// The pointwise half of every cell op, as "units": a functor that handles one
// hidden unit `j` of one batch row `b`. The CPU loops over rows in parallel and
// over units in order; the CUDA kernel gives each (b, j) a thread. Both call the
// same functor, so the loads, bias handling and stores exist once, here.
//
// All tensors handed to a unit are contiguous (the ops in cell_ops.h make sure);
// gate buffers are laid out (B, G*H) in PyTorch's gate order.
//
// A unit's work is written once, as apply(lanes, b, j), over "lanes": what
// loads its inputs and stores its outputs. ScalarLane handles the one unit j
// (unit(b, j) is apply with it), in the accumulation type; the CPU's AVX-512
// copy (core/cpu/vec512.h) hands in lanes that load and store the 16 units
// j ... j + 15 at once, and the gate math of core/cell_math.h, templates over
// the number type, then runs on 16 units.
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

// One unit's loads and stores, in the accumulation type acc_t.
template <typename scalar_t>
struct ScalarLane {
  using acc_t = at::opmath_type<scalar_t>;
  SEQ2SEQ_HOST_DEVICE acc_t load(const scalar_t* p) const { return static_cast<acc_t>(*p); }
  SEQ2SEQ_HOST_DEVICE void store(scalar_t* p, acc_t x) const { *p = static_cast<scalar_t>(x); }
};

template <typename scalar_t>
struct LstmForwardUnit {
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

  template <class Lanes>
  SEQ2SEQ_HOST_DEVICE auto pre(const Lanes& lanes, int64_t b, int64_t gate, int64_t j) const {
    const int64_t k = gate * H + j;
    return lanes.load(gates + b * kLstmGates * H + k) + lanes.load(b_ih + k) + lanes.load(b_hh + k);
  }

  template <class Lanes>
  SEQ2SEQ_HOST_DEVICE void apply(const Lanes& lanes, int64_t b, int64_t j) const {
    const auto a = lstm_activate(pre(lanes, b, 0, j), pre(lanes, b, 1, j), pre(lanes, b, 2, j),
                                 pre(lanes, b, 3, j));
    const auto c = lstm_next_cell(a, lanes.load(cx + b * H + j));
    lanes.store(cy + b * H + j, c);
    lanes.store(hy + b * H + j, lstm_next_hidden(a, c));
    scalar_t* ws = workspace + b * kLstmGates * H + j;
    lanes.store(ws, a.i);
    lanes.store(ws + H, a.f);
    lanes.store(ws + 2 * H, a.g);
    lanes.store(ws + 3 * H, a.o);
  }
  SEQ2SEQ_HOST_DEVICE void operator()(int64_t b, int64_t j) const {
    apply(ScalarLane<scalar_t>(), b, j);
  }
};

template <typename scalar_t>
struct LstmBackwardUnit {
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

  template <class Lanes>
  SEQ2SEQ_HOST_DEVICE void apply(const Lanes& lanes, int64_t b, int64_t j) const {
    const scalar_t* ws = workspace + b * kLstmGates * H + j;
    const LstmGates<decltype(lanes.load(ws))> a{lanes.load(ws), lanes.load(ws + H),
                                                lanes.load(ws + 2 * H), lanes.load(ws + 3 * H)};
    const int64_t u = b * H + j;
    const auto g = lstm_backward(a, lanes.load(cx + u), lanes.load(cy + u), lanes.load(grad_hy + u),
                                 lanes.load(grad_cy + u));
    scalar_t* dg = grad_gates + b * kLstmGates * H + j;
    lanes.store(dg, g.di);
    lanes.store(dg + H, g.df);
    lanes.store(dg + 2 * H, g.dg);
    lanes.store(dg + 3 * H, g.do_);
    lanes.store(grad_cx + u, g.dc_prev);
  }
  SEQ2SEQ_HOST_DEVICE void operator()(int64_t b, int64_t j) const {
    apply(ScalarLane<scalar_t>(), b, j);
  }
};

template <typename scalar_t>
struct GruForwardUnit {
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

  // The x-side (xgates, b_ih) or h-side (hgates, b_hh) pre-activation of a gate.
  template <class Lanes>
  SEQ2SEQ_HOST_DEVICE auto side(const Lanes& lanes, const scalar_t* side_gates,
                                const scalar_t* bias, int64_t b, int64_t gate, int64_t j) const {
    const int64_t k = gate * H + j;
    return lanes.load(side_gates + b * kGruGates * H + k) + lanes.load(bias + k);
  }

  template <class Lanes>
  SEQ2SEQ_HOST_DEVICE void apply(const Lanes& lanes, int64_t b, int64_t j) const {
    const auto hn = side(lanes, hgates, b_hh, b, 2, j);
    const auto a =
        gru_activate(side(lanes, xgates, b_ih, b, 0, j), side(lanes, xgates, b_ih, b, 1, j),
                     side(lanes, xgates, b_ih, b, 2, j), side(lanes, hgates, b_hh, b, 0, j),
                     side(lanes, hgates, b_hh, b, 1, j), hn);
    lanes.store(hy + b * H + j, gru_next_hidden(a, lanes.load(hx + b * H + j)));
    scalar_t* ws = workspace + b * kGruSaved * H + j;
    lanes.store(ws, a.r);
    lanes.store(ws + H, a.z);
    lanes.store(ws + 2 * H, a.n);
    lanes.store(ws + 3 * H, hn);
  }
  SEQ2SEQ_HOST_DEVICE void operator()(int64_t b, int64_t j) const {
    apply(ScalarLane<scalar_t>(), b, j);
  }
};

template <typename scalar_t>
struct GruBackwardUnit {
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

  template <class Lanes>
  SEQ2SEQ_HOST_DEVICE void apply(const Lanes& lanes, int64_t b, int64_t j) const {
    const scalar_t* ws = workspace + b * kGruSaved * H + j;
    const GruGates<decltype(lanes.load(ws))> a{lanes.load(ws), lanes.load(ws + H),
                                               lanes.load(ws + 2 * H)};
    const int64_t u = b * H + j;
    const auto g =
        gru_backward(a, lanes.load(ws + 3 * H), lanes.load(hx + u), lanes.load(grad_hy + u));
    scalar_t* dx = grad_xgates + b * kGruGates * H + j;
    scalar_t* dh = grad_hgates + b * kGruGates * H + j;
    lanes.store(dx, g.dr);
    lanes.store(dh, g.dr);
    lanes.store(dx + H, g.dz);
    lanes.store(dh + H, g.dz);
    lanes.store(dx + 2 * H, g.dn_x);
    lanes.store(dh + 2 * H, g.dn_h);
    lanes.store(grad_hx_direct + u, g.dh_direct);
  }
  SEQ2SEQ_HOST_DEVICE void operator()(int64_t b, int64_t j) const {
    apply(ScalarLane<scalar_t>(), b, j);
  }
};

template <typename scalar_t, RnnNonlinearity kind>
struct RnnForwardUnit {
  const scalar_t *gates, *b_ih, *b_hh;
  scalar_t* hy;
  int64_t H;

  explicit RnnForwardUnit(const RnnForwardTensors& t)
      : gates(t.gates.const_data_ptr<scalar_t>()),
        b_ih(t.b_ih.const_data_ptr<scalar_t>()),
        b_hh(t.b_hh.const_data_ptr<scalar_t>()),
        hy(t.hy.mutable_data_ptr<scalar_t>()),
        H(t.hy.size(1)) {}

  template <class Lanes>
  SEQ2SEQ_HOST_DEVICE void apply(const Lanes& lanes, int64_t b, int64_t j) const {
    const auto pre = lanes.load(gates + b * H + j) + lanes.load(b_ih + j) + lanes.load(b_hh + j);
    lanes.store(hy + b * H + j, rnn_activate<kind>(pre));
  }
  SEQ2SEQ_HOST_DEVICE void operator()(int64_t b, int64_t j) const {
    apply(ScalarLane<scalar_t>(), b, j);
  }
};

template <typename scalar_t, RnnNonlinearity kind>
struct RnnBackwardUnit {
  const scalar_t *grad_hy, *hy;
  scalar_t* grad_gates;
  int64_t H;

  explicit RnnBackwardUnit(const RnnBackwardTensors& t)
      : grad_hy(t.grad_hy.const_data_ptr<scalar_t>()),
        hy(t.hy.const_data_ptr<scalar_t>()),
        grad_gates(t.grad_gates.mutable_data_ptr<scalar_t>()),
        H(t.hy.size(1)) {}

  template <class Lanes>
  SEQ2SEQ_HOST_DEVICE void apply(const Lanes& lanes, int64_t b, int64_t j) const {
    const int64_t u = b * H + j;
    lanes.store(grad_gates + u, rnn_backward<kind>(lanes.load(hy + u), lanes.load(grad_hy + u)));
  }
  SEQ2SEQ_HOST_DEVICE void operator()(int64_t b, int64_t j) const {
    apply(ScalarLane<scalar_t>(), b, j);
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
