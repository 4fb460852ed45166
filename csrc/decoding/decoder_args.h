// What the decoding ops (decode_ops.h) take: a Seq2Seq decoder's weights, the
// memory it attends to and its state, checked and named once here
// (decoder_args.cpp), so that the step (decoder_step.h) reads plain fields.
//
// The decoder at step t (seq2seq_ext/models/decoder.py): x_t = embed(y_{t-1})
// (and, with input feeding, the previous output o_{t-1}); h_t = RNN stack(x_t,
// h_{t-1}); with attention, context_t = attend(h_t, memory) and
// o_t = tanh(W_c [h_t; context_t]), else o_t = h_t; logits_t = W_out o_t + b_out.
#pragma once

#include <string_view>
#include <vector>

#include "core/cell_math.h"
#include "core/op_types.h"

namespace seq2seq_ext {

enum class DecoderCell { Lstm, Gru, RnnTanh, RnnRelu };
enum class DecoderAttention { Bahdanau, LuongDot, LuongGeneral, None };

struct DecoderLayerWeights {
  Tensor w_ih, w_hh, b_ih, b_hh;  // as torch.nn's layers hold them, biases required
  Tensor w_ih_scale, w_hh_scale;  // of int8 weights (core/reduced_linear.h), else undefined
};

// The op's `weights` list, in this order: the target embedding (V, E); per
// layer w_ih, w_hh, b_ih, b_hh; the attention's (Bahdanau: W_q (A, H) and the
// scoring vector v (A); Luong general: W (H, K); dot and none: nothing); with
// attention, the combine layer's weight (H, H + K) and bias (H); the output
// layer's weight (V, H) and bias (V).
//
// Decoding (not the training pass) also takes the matrices w_ih, w_hh, W_q,
// the combine and the output weight in reduced precision (core/reduced_linear.h),
// on the CPU: bfloat16, or int8 with the op's `scales` list holding their
// per-row scales in the order the int8 matrices come. The embedding, biases,
// v and Luong's W stay in the values' dtype.
struct DecoderWeights {
  DecoderCell cell;
  DecoderAttention attention;
  bool input_feeding;
  Tensor embedding;
  std::vector<DecoderLayerWeights> layers;
  Tensor query_weight;    // Bahdanau W_q, Luong general W
  Tensor scoring_vector;  // Bahdanau v
  Tensor combine_weight, combine_bias, output_weight, output_bias;
  Tensor query_scale, combine_scale, output_scale;  // of int8 matrices, else undefined

  int64_t vocab_size() const { return output_weight.size(0); }
  bool is_lstm() const { return cell == DecoderCell::Lstm; }
  // The columns of what a layer's step saves for the cell's backward: the
  // LSTM's activated gates, the GRU's r, z, n and W_hn h + b_hn; the Elman
  // RNN's backward needs only h.
  int64_t workspace_size(int64_t H) const {
    if (cell == DecoderCell::Lstm) return kLstmGates * H;
    return cell == DecoderCell::Gru ? kGruSaved * H : 0;
  }
};

// What the decoder attends to: values (B, S, K) (the encoder outputs), mask
// (B, S) bool (True = a real source token), keys_proj (B, S, A) (Bahdanau only).
struct DecoderMemory {
  Tensor values, mask, keys_proj;
  DecoderMemory index_select(const Tensor& rows) const;
};

// Per layer h (B, H) (and the LSTM's c), plus the output fed to the next step
// (input feeding; zeros at the start).
struct DecoderState {
  std::vector<Tensor> h, c;
  Tensor feed;
  // The state of batch rows `rows` (beam search's reordering).
  void index_select(const Tensor& rows);
};

struct SpecialTokens {
  int64_t sos, eos, pad;
};

// The decoding ops' arguments, parsed and checked against each other (shapes,
// dtypes, devices, counts, the special tokens and max_len), with messages that
// name the op and the argument. state: [h] or, for the LSTM, [h, c], each
// (layers, B, H); scales: those of the int8 matrices in `weights`.
struct DecodeArgs {
  DecoderWeights weights;
  DecoderMemory memory;
  DecoderState state;
};
DecodeArgs decode_args(const char* op, at::TensorList weights, std::string_view cell,
                       std::string_view attention, bool input_feeding, at::TensorList state,
                       const Tensor& values, const Tensor& mask, const OptTensor& keys_proj,
                       SpecialTokens tokens, int64_t max_len, at::TensorList scales);

// Dropout in the training pass: keep-masks already scaled by 1 / (1 - p), in
// the time-major row order of the pass's buffers (row t * B + b): of the
// embedding (T*B, E), between layers (L - 1, T*B, H), and of the output o_t
// before the output layer (T*B, H). The fed output is not dropped. Undefined
// when no dropout is active.
struct DecoderDropout {
  Tensor embedding, layers, output;
  bool active() const { return embedding.defined(); }
};
// The op's `dropout` list, empty or [embedding (T, B, E), layers (L - 1, T, B,
// H), output (T, B, H)], checked against the pass's sizes.
DecoderDropout dropout_masks(const char* op, at::TensorList dropout, const DecoderWeights& w,
                             const DecoderState& state, int64_t steps);

// The training pass's arguments (stepwise_pass/stepwise_pass.h): the same weights, memory
// and state, and the tokens fed at each step, tgt_in (B, T) int64, with, for
// scheduled sampling, use_truth (B, T) bool (True = feed the true token, else
// the model's previous prediction; column 0 is not read). padding_idx: the
// embedding row that gets no gradient, or -1 for none. Its weights are all in
// the values' dtype.
DecodeArgs pass_args(const char* op, at::TensorList weights, std::string_view cell,
                     std::string_view attention, bool input_feeding, at::TensorList state,
                     const Tensor& values, const Tensor& mask, const OptTensor& keys_proj,
                     const Tensor& tgt_in, const OptTensor& use_truth, int64_t padding_idx);

}  // namespace seq2seq_ext
