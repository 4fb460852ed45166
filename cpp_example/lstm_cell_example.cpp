// Calls seq2seq_ext::lstm_cell through the dispatcher on random CPU tensors and
// compares hy and cy with the same cell composed of ATen ops. Exits non-zero
// if they differ by more than 1e-5 (or if the op is not registered).
#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <tuple>

using at::Tensor;

using LstmCell = std::tuple<Tensor, Tensor, Tensor>(const Tensor& input, const Tensor& hx,
                                                    const Tensor& cx, const Tensor& w_ih,
                                                    const Tensor& w_hh,
                                                    const std::optional<Tensor>& b_ih,
                                                    const std::optional<Tensor>& b_hh);

// The LSTM cell: gates in the order i, f, g, o.
std::tuple<Tensor, Tensor> reference_lstm_cell(const Tensor& input, const Tensor& hx,
                                               const Tensor& cx, const Tensor& w_ih,
                                               const Tensor& w_hh, const Tensor& b_ih,
                                               const Tensor& b_hh) {
  const auto gates = (at::linear(input, w_ih, b_ih) + at::linear(hx, w_hh, b_hh)).chunk(4, 1);
  const Tensor i = at::sigmoid(gates[0]);
  const Tensor f = at::sigmoid(gates[1]);
  const Tensor g = at::tanh(gates[2]);
  const Tensor o = at::sigmoid(gates[3]);
  const Tensor cy = f * cx + i * g;
  return {o * at::tanh(cy), cy};
}

int main() {
  constexpr int64_t batch = 8, input_size = 33, hidden = 65;
  constexpr double tolerance = 1e-5;
  at::manual_seed(0);
  const Tensor input = at::randn({batch, input_size});
  const Tensor hx = at::randn({batch, hidden});
  const Tensor cx = at::randn({batch, hidden});
  const Tensor w_ih = at::randn({4 * hidden, input_size}) * 0.2;
  const Tensor w_hh = at::randn({4 * hidden, hidden}) * 0.2;
  const Tensor b_ih = at::randn({4 * hidden});
  const Tensor b_hh = at::randn({4 * hidden});

  const auto lstm_cell = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("seq2seq_ext::lstm_cell", "")
                             .typed<LstmCell>();
  const auto [hy, cy, workspace] = lstm_cell.call(input, hx, cx, w_ih, w_hh, b_ih, b_hh);
  const auto [hy_ref, cy_ref] = reference_lstm_cell(input, hx, cx, w_ih, w_hh, b_ih, b_hh);

  const double diff_h = (hy - hy_ref).abs().max().item<double>();
  const double diff_c = (cy - cy_ref).abs().max().item<double>();
  const double diff = std::max(diff_h, diff_c);
  std::printf("lstm_cell vs ATen: max |hy - ref| = %.3g, max |cy - ref| = %.3g\n", diff_h, diff_c);
  if (diff > tolerance) {
    std::printf("FAILED: max difference %.3g exceeds %.0e\n", diff, tolerance);
    return 1;
  }
  std::printf("OK (tolerance %.0e)\n", tolerance);
  return 0;
}
