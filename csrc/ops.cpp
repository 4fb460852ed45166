// Every op of seq2seq_ext, declared once. Kernels are registered per device in
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
  // LSTM cell. workspace (B, 4H): the activated gates i, f, g, o.
  m.def(
      "lstm_cell(Tensor input, Tensor hx, Tensor cx, Tensor w_ih, Tensor w_hh, "
      "Tensor? b_ih=None, Tensor? b_hh=None) -> (Tensor hy, Tensor cy, Tensor workspace)");
  m.def(
      "lstm_cell_backward(Tensor grad_hy, Tensor grad_cy, Tensor input, Tensor hx, Tensor cx, "
      "Tensor cy, Tensor workspace, Tensor w_ih, Tensor w_hh, bool[3] output_mask) -> "
      "(Tensor grad_input, Tensor grad_hx, Tensor grad_cx, Tensor grad_w_ih, Tensor grad_w_hh, "
      "Tensor grad_bias)");

  // GRU cell. workspace (B, 4H): r, z, n and hn = W_hn h + b_hn.
  m.def(
      "gru_cell(Tensor input, Tensor hx, Tensor w_ih, Tensor w_hh, Tensor? b_ih=None, "
      "Tensor? b_hh=None) -> (Tensor hy, Tensor workspace)");
  m.def(
      "gru_cell_backward(Tensor grad_hy, Tensor input, Tensor hx, Tensor workspace, Tensor w_ih, "
      "Tensor w_hh, bool[3] output_mask) -> (Tensor grad_input, Tensor grad_hx, Tensor grad_w_ih, "
      "Tensor grad_w_hh, Tensor grad_b_ih, Tensor grad_b_hh)");

  // Elman RNN cells. The backward needs only the output hy.
  m.def(
      "rnn_tanh_cell(Tensor input, Tensor hx, Tensor w_ih, Tensor w_hh, Tensor? b_ih=None, "
      "Tensor? b_hh=None) -> Tensor");
  m.def(
      "rnn_tanh_cell_backward(Tensor grad_hy, Tensor input, Tensor hx, Tensor hy, Tensor w_ih, "
      "Tensor w_hh, bool[3] output_mask) -> (Tensor grad_input, Tensor grad_hx, Tensor grad_w_ih, "
      "Tensor grad_w_hh, Tensor grad_bias)");
  m.def(
      "rnn_relu_cell(Tensor input, Tensor hx, Tensor w_ih, Tensor w_hh, Tensor? b_ih=None, "
      "Tensor? b_hh=None) -> Tensor");
  m.def(
      "rnn_relu_cell_backward(Tensor grad_hy, Tensor input, Tensor hx, Tensor hy, Tensor w_ih, "
      "Tensor w_hh, bool[3] output_mask) -> (Tensor grad_input, Tensor grad_hx, Tensor grad_w_ih, "
      "Tensor grad_w_hh, Tensor grad_bias)");

  // Whole layers: one direction, all steps, the packed layout of layer_ops.h
  // (input (N, I) and batch_sizes (T,) int64 on the CPU). The forward ops also
  // return what their backward reads: LSTM the cell states (N, H), the
  // activated gates (workspace, (N, 4H)) and, with w_hr (proj_size), the output
  // before the projection; GRU its workspace (N, 4H) as the cell's.
  m.def(
      "lstm_layer(Tensor input, Tensor batch_sizes, Tensor h0, Tensor c0, Tensor w_ih, "
      "Tensor w_hh, Tensor? b_ih=None, Tensor? b_hh=None, Tensor? w_hr=None) -> (Tensor output, "
      "Tensor hy, Tensor cy, Tensor cells, Tensor workspace, Tensor unprojected)");
  m.def(
      "lstm_layer_backward(Tensor grad_output, Tensor grad_hy, Tensor grad_cy, Tensor input, "
      "Tensor batch_sizes, Tensor h0, Tensor c0, Tensor w_ih, Tensor w_hh, Tensor? w_hr, "
      "Tensor output, Tensor cells, Tensor workspace, Tensor unprojected, bool[3] output_mask) -> "
      "(Tensor grad_input, Tensor grad_h0, Tensor grad_c0, Tensor grad_w_ih, Tensor grad_w_hh, "
      "Tensor grad_bias, Tensor grad_w_hr)");
  m.def(
      "gru_layer(Tensor input, Tensor batch_sizes, Tensor h0, Tensor w_ih, Tensor w_hh, "
      "Tensor? b_ih=None, Tensor? b_hh=None) -> (Tensor output, Tensor hy, Tensor workspace)");
  m.def(
      "gru_layer_backward(Tensor grad_output, Tensor grad_hy, Tensor input, Tensor batch_sizes, "
      "Tensor h0, Tensor w_ih, Tensor w_hh, Tensor output, Tensor workspace, bool[3] output_mask) "
      "-> (Tensor grad_input, Tensor grad_h0, Tensor grad_w_ih, Tensor grad_w_hh, "
      "Tensor grad_b_ih, Tensor grad_b_hh)");
  m.def(
      "rnn_tanh_layer(Tensor input, Tensor batch_sizes, Tensor h0, Tensor w_ih, Tensor w_hh, "
      "Tensor? b_ih=None, Tensor? b_hh=None) -> (Tensor output, Tensor hy)");
  m.def(
      "rnn_tanh_layer_backward(Tensor grad_output, Tensor grad_hy, Tensor input, "
      "Tensor batch_sizes, Tensor h0, Tensor w_ih, Tensor w_hh, Tensor output, "
      "bool[3] output_mask) -> (Tensor grad_input, Tensor grad_h0, Tensor grad_w_ih, "
      "Tensor grad_w_hh, Tensor grad_bias)");
  m.def(
      "rnn_relu_layer(Tensor input, Tensor batch_sizes, Tensor h0, Tensor w_ih, Tensor w_hh, "
      "Tensor? b_ih=None, Tensor? b_hh=None) -> (Tensor output, Tensor hy)");
  m.def(
      "rnn_relu_layer_backward(Tensor grad_output, Tensor grad_hy, Tensor input, "
      "Tensor batch_sizes, Tensor h0, Tensor w_ih, Tensor w_hh, Tensor output, "
      "bool[3] output_mask) -> (Tensor grad_input, Tensor grad_h0, Tensor grad_w_ih, "
      "Tensor grad_w_hh, Tensor grad_bias)");
  // Softmax over the last dimension, only over positions where mask is True; a
  // row without any gives zeros. The backward needs only the output weights.
  m.def("masked_softmax(Tensor scores, Tensor? mask=None) -> Tensor");
  m.def("masked_softmax_backward(Tensor grad_weights, Tensor weights) -> Tensor");

  // Bahdanau attention, fused: scores, masked softmax and context in one kernel.
  // query_proj is (B, A), one query per row, or (B, T, A), T queries per row
  // against the same keys and values (a decoder's every step, with no T-fold
  // copy of the memory); context and weights have query_proj's leading dims.
  // The backward recomputes tanh from its inputs; output_mask = (query_proj,
  // keys_proj and v; values).
  m.def(
      "bahdanau_attention(Tensor query_proj, Tensor keys_proj, Tensor values, Tensor v, "
      "Tensor? mask=None) -> (Tensor context, Tensor weights)");
  m.def(
      "bahdanau_attention_backward(Tensor grad_context, Tensor grad_weights, Tensor query_proj, "
      "Tensor keys_proj, Tensor values, Tensor v, Tensor weights, bool[2] output_mask) -> "
      "(Tensor grad_query_proj, Tensor grad_keys_proj, Tensor grad_values, Tensor grad_v)");

  // Luong attention, dot (W = None) or general (query @ W @ keys^T).
  // output_mask = (query, keys, values, W).
  m.def(
      "luong_attention(Tensor query, Tensor keys, Tensor values, Tensor? mask=None, "
      "Tensor? W=None) -> (Tensor context, Tensor weights)");
  m.def(
      "luong_attention_backward(Tensor grad_context, Tensor grad_weights, Tensor query, "
      "Tensor keys, Tensor values, Tensor? W, Tensor weights, bool[4] output_mask) -> "
      "(Tensor grad_query, Tensor grad_keys, Tensor grad_values, Tensor grad_W)");

  // Decoding a Seq2Seq model with the whole loop in C++ (decode_ops.h): greedy,
  // and beam search ranked by score / ((5 + length) / 6) ** length_penalty.
  // weights: the decoder's, in the order of decoder_args.h; state: [h] or
  // [h, c], each (layers, batch, hidden_size); values (batch, src_len, K) and
  // mask (batch, src_len) bool: the memory; keys_proj: Bahdanau's, else None.
  // scales: the per-row scales of the int8 matrices among the weights (on the
  // CPU, weights may be reduced: bfloat16 or int8; decoder_args.h).
  // -> tokens (batch, steps), scores (batch,), attention (batch, steps, src_len)
  // (empty without attention), lengths (batch,). Not differentiable.
  m.def(
      "greedy_decode(Tensor[] weights, str cell, str attention, bool input_feeding, "
      "Tensor[] state, Tensor values, Tensor mask, Tensor? keys_proj, int sos, int eos, int pad, "
      "int max_len, Tensor[] scales) -> (Tensor tokens, Tensor scores, Tensor attention, "
      "Tensor lengths)");
  m.def(
      "beam_search(Tensor[] weights, str cell, str attention, bool input_feeding, "
      "Tensor[] state, Tensor values, Tensor mask, Tensor? keys_proj, int sos, int eos, int pad, "
      "int max_len, int beam_size, float length_penalty, Tensor[] scales) -> (Tensor tokens, "
      "Tensor scores, Tensor attention, Tensor lengths)");

  // input (..., in_features) float32 times a reduced-precision weight
  // (out_features, in_features), bfloat16 or int8 with per-row float32 scales,
  // plus bias: -> (..., out_features) (reduced_linear.h). CPU only; not
  // differentiable (the decoding ops' products, for inference).
  m.def(
      "reduced_linear(Tensor input, Tensor weight, Tensor? scale=None, Tensor? bias=None) -> "
      "Tensor");

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

  // The decoder's step-by-step training pass (stepwise_pass.h): the same
  // arguments as the decoding ops, the tokens fed at each step tgt_in (batch,
  // steps) and, for scheduled sampling, use_truth (batch, steps) bool (False:
  // feed the previous step's argmax instead), dropout: [] or its masks
  // (decoder_args.h, DecoderDropout). -> logits (batch, steps, vocab),
  // the tokens fed, and what the backward reads (time-major; stepwise_pass.h
  // lists them). The backward returns the gradients of weights and state as
  // lists in their order, and of values and keys_proj (empty without Bahdanau).
  m.def(
      "decoder_stepwise_pass(Tensor[] weights, str cell, str attention, bool input_feeding, "
      "Tensor[] state, Tensor values, Tensor mask, Tensor? keys_proj, Tensor tgt_in, "
      "Tensor? use_truth, Tensor[] dropout, int padding_idx) -> (Tensor logits, Tensor tokens, "
      "Tensor inputs, Tensor hidden, Tensor cells, Tensor workspace, Tensor context, "
      "Tensor attention_weights, Tensor outputs)");
  m.def(
      "decoder_stepwise_pass_backward(Tensor grad_logits, Tensor[] weights, str cell, "
      "str attention, bool input_feeding, Tensor[] state, Tensor values, Tensor mask, "
      "Tensor? keys_proj, Tensor[] dropout, int padding_idx, Tensor tokens, Tensor inputs, "
      "Tensor hidden, Tensor cells, Tensor workspace, Tensor context, Tensor attention_weights, "
      "Tensor outputs) -> (Tensor[] grad_weights, Tensor[] grad_state, Tensor grad_values, "
      "Tensor grad_keys_proj)");
}
