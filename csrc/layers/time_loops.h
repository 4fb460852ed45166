// The layers' time loops on the per-step kernels of RecurrentKernels<device>
// (recurrent_kernels.h, which includes this file last): what every device runs
// where it has no whole-sequence kernels of its own, and the one-step helpers
// that the decoder's steps (decoding/decoder_step.h) share.
#pragma once

namespace seq2seq_ext {

// ---- one forward step of a layer, shared by the layer ops' time loops and the
// decoder's (decoding/decoder_step.h). `recurrence` holds W_hh; hx (and cx) are the
// state the step reads, the outputs are written in place.

// LSTM: gates (rows, 4H) hold x W_ih^T and become the activated gates.
template <c10::DeviceType device>
void lstm_step(const RecurrentKernels<device>& recurrence, const Tensor& gates,
               const Tensor& bias_ih, const Tensor& bias_hh, const Tensor& hx, const Tensor& cx,
               const Tensor& hy, const Tensor& cy) {
  recurrence.lstm_forward({.gates = gates,
                           .b_ih = bias_ih,
                           .b_hh = bias_hh,
                           .cx = cx,
                           .hy = hy,
                           .cy = cy,
                           .workspace = gates},
                          hx);
}

// GRU: xgates (rows, 3H) = x W_ih^T; hgates a (rows, 3H) buffer for h W_hh^T.
template <c10::DeviceType device>
void gru_step(const RecurrentKernels<device>& recurrence, const Tensor& xgates,
              const Tensor& hgates, const Tensor& bias_ih, const Tensor& bias_hh, const Tensor& hx,
              const Tensor& hy, const Tensor& workspace) {
  recurrence.gru_forward({.xgates = xgates,
                          .hgates = hgates,
                          .b_ih = bias_ih,
                          .b_hh = bias_hh,
                          .hx = hx,
                          .hy = hy,
                          .workspace = workspace},
                         hx);
}

// Elman RNN: gates (rows, H) hold x W_ih^T.
template <c10::DeviceType device>
void rnn_step(const RecurrentKernels<device>& recurrence, RnnNonlinearity kind, const Tensor& gates,
              const Tensor& bias_ih, const Tensor& bias_hh, const Tensor& hx, const Tensor& hy) {
  recurrence.rnn_forward(kind, {.gates = gates, .b_ih = bias_ih, .b_hh = bias_hh, .hy = hy}, hx);
}

// The time loops: one step after another on the per-step kernels.
template <c10::DeviceType device>
void lstm_steps(const RecurrentKernels<device>& recurrence, const PackedSteps& steps,
                const LayerForward& f) {
  for (int64_t s = 0; s < steps.count(); ++s) {
    if (steps.rows(s) == 0) continue;
    const Tensor hy = steps.of(f.w_hr ? f.unprojected : f.output, s);
    lstm_step(recurrence, steps.of(f.xgates, s), f.bias_ih, f.bias_hh,
              steps.previous(f.output, f.h0, s), steps.previous(f.cells, f.c0, s), hy,
              steps.of(f.cells, s));
    if (f.w_hr) {
      Tensor output_rows = steps.of(f.output, s);
      at::mm_out(output_rows, hy, f.w_hr->t());
    }
  }
}

template <c10::DeviceType device>
void gru_steps(const RecurrentKernels<device>& recurrence, const PackedSteps& steps,
               const LayerForward& f) {
  for (int64_t s = 0; s < steps.count(); ++s) {
    const int64_t rows = steps.rows(s);
    if (rows == 0) continue;
    gru_step(recurrence, steps.of(f.xgates, s), f.hgates.narrow(0, 0, rows), f.bias_ih, f.bias_hh,
             steps.previous(f.output, f.h0, s), steps.of(f.output, s), steps.of(f.workspace, s));
  }
}

template <c10::DeviceType device>
void rnn_steps(const RecurrentKernels<device>& recurrence, RnnNonlinearity kind,
               const PackedSteps& steps, const LayerForward& f) {
  for (int64_t s = 0; s < steps.count(); ++s) {
    if (steps.rows(s) == 0) continue;
    rnn_step(recurrence, kind, steps.of(f.xgates, s), f.bias_ih, f.bias_hh,
             steps.previous(f.output, f.h0, s), steps.of(f.output, s));
  }
}

// The backward's time loops: the last step first. `later` holds the gate
// gradients of the step after s (the carry's input), undefined at the last.
template <c10::DeviceType device>
void lstm_backward_steps(const RecurrentKernels<device>& recurrence, const PackedSteps& steps,
                         const LayerBackward& b) {
  Tensor later;
  for (int64_t s = steps.count() - 1; s >= 0; --s) {
    const int64_t rows = steps.rows(s);
    if (rows == 0) continue;
    const Tensor dh_rows = b.dh.narrow(0, 0, rows);
    LstmBackwardTensors t;
    t.grad_cy = t.grad_cx = b.dc.narrow(0, 0, rows);  // read, then overwritten, per element
    t.cx = steps.previous(b.cells, b.c0, s);
    t.cy = steps.of(b.cells, s);
    t.workspace = steps.of(b.workspace, s);
    t.grad_gates = steps.of(b.grad_gates, s);
    if (b.w_hr) {
      recurrence.carry(b.dh, later, Tensor(), steps.of(b.grad_output, s));
      steps.of(b.grad_output_total, s).copy_(dh_rows);
      t.grad_hy = at::mm(dh_rows, *b.w_hr);
      CellKernels<device>::lstm_backward(t);
    } else {
      t.grad_hy = dh_rows;
      recurrence.lstm_backward(t, b.dh, later, steps.of(b.grad_output, s));
    }
    later = t.grad_gates;
  }
  recurrence.carry(b.dh, later, Tensor(), Tensor());  // into the initial state
}

template <c10::DeviceType device>
void gru_backward_steps(const RecurrentKernels<device>& recurrence, const PackedSteps& steps,
                        const LayerBackward& b) {
  Tensor later, later_direct;
  for (int64_t s = steps.count() - 1; s >= 0; --s) {
    const int64_t rows = steps.rows(s);
    if (rows == 0) continue;
    GruBackwardTensors t;
    t.grad_hy = b.dh.narrow(0, 0, rows);
    t.hx = steps.previous(b.output, b.h0, s);
    t.workspace = steps.of(b.workspace, s);
    t.grad_xgates = steps.of(b.grad_gates, s);
    t.grad_hgates = steps.of(b.grad_hgates, s);
    t.grad_hx_direct = b.direct.narrow(0, 0, rows);  // read as later_direct, then overwritten
    recurrence.gru_backward(t, b.dh, later, later_direct, steps.of(b.grad_output, s));
    later = t.grad_hgates;
    later_direct = t.grad_hx_direct;
  }
  recurrence.carry(b.dh, later, later_direct, Tensor());  // into the initial state
}

template <c10::DeviceType device>
void rnn_backward_steps(const RecurrentKernels<device>& recurrence, RnnNonlinearity kind,
                        const PackedSteps& steps, const LayerBackward& b) {
  Tensor later;
  for (int64_t s = steps.count() - 1; s >= 0; --s) {
    const int64_t rows = steps.rows(s);
    if (rows == 0) continue;
    RnnBackwardTensors t;
    t.grad_hy = b.dh.narrow(0, 0, rows);
    t.hy = steps.of(b.output, s);
    t.grad_gates = steps.of(b.grad_gates, s);
    recurrence.rnn_backward(kind, t, b.dh, later, steps.of(b.grad_output, s));
    later = t.grad_gates;
  }
  recurrence.carry(b.dh, later, Tensor(), Tensor());  // into the initial state
}

}  // namespace seq2seq_ext
