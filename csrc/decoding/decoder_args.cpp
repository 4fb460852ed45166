// Parsing and checks of the decoder loop ops' arguments (device-independent).
#include "decoder_args.h"

#include <ATen/ops/zeros.h>

#include "core/checks.h"
#include "core/reduced_linear.h"

namespace seq2seq_ext {

DecoderMemory DecoderMemory::index_select(const Tensor& rows) const {
  return {values.index_select(0, rows), mask.index_select(0, rows),
          keys_proj.defined() ? keys_proj.index_select(0, rows) : Tensor()};
}

void DecoderState::index_select(const Tensor& rows) {
  for (auto* states : {&h, &c}) {
    for (Tensor& s : *states) s = s.index_select(0, rows);
  }
  if (feed.defined()) feed = feed.index_select(0, rows);
}

namespace {

DecoderCell parse_cell(const char* op, std::string_view cell) {
  if (cell == "lstm") return DecoderCell::Lstm;
  if (cell == "gru") return DecoderCell::Gru;
  if (cell == "rnn_tanh") return DecoderCell::RnnTanh;
  if (cell == "rnn_relu") return DecoderCell::RnnRelu;
  TORCH_CHECK(false, op, ": cell must be one of lstm, gru, rnn_tanh, rnn_relu, got '", cell, "'");
}

DecoderAttention parse_attention(const char* op, std::string_view attention) {
  if (attention == "bahdanau") return DecoderAttention::Bahdanau;
  if (attention == "luong-dot") return DecoderAttention::LuongDot;
  if (attention == "luong-general") return DecoderAttention::LuongGeneral;
  if (attention == "none") return DecoderAttention::None;
  TORCH_CHECK(false, op,
              ": attention must be one of bahdanau, luong-dot, luong-general, none, got '",
              attention, "'");
}

int64_t gates_of(DecoderCell cell) {
  switch (cell) {
    case DecoderCell::Lstm:
      return kLstmGates;
    case DecoderCell::Gru:
      return kGruGates;
    default:
      return kRnnGates;
  }
}

int64_t attention_weight_count(DecoderAttention attention) {
  switch (attention) {
    case DecoderAttention::Bahdanau:
      return 2;
    case DecoderAttention::LuongGeneral:
      return 1;
    default:
      return 0;
  }
}

// Hands out the weights list in order, each checked against its expected
// shape, and the matrices' scales.
class WeightReader {
 public:
  WeightReader(const char* op, at::TensorList weights, at::TensorList scales, const Tensor& like)
      : op_(op), weights_(weights), scales_(scales), like_(like) {}
  Tensor next(const std::string& name, at::IntArrayRef sizes) {
    const Tensor& t = weights_[next_++];
    check_tensor(op_, name.c_str(), t, sizes, like_, "values");
    return t.contiguous();
  }
  // A matrix, which may be reduced: -> (weight, scale, or undefined).
  Tensor2 matrix(const std::string& name, at::IntArrayRef sizes) {
    const Tensor& t = weights_[next_];
    if (!is_reduced(t, like_)) return {next(name, sizes), Tensor()};
    ++next_;
    Tensor scale;
    if (t.scalar_type() == at::kChar) {
      TORCH_CHECK(next_scale_ < scales_.size(), op_, ": ", name,
                  " is int8, but scales holds no scales for it (", scales_.size(),
                  " given, one per int8 matrix)");
      scale = scales_[next_scale_++].contiguous();
    }
    check_reduced(op_, name.c_str(), t, scale, sizes, like_);
    return {t.contiguous(), scale};
  }
  void check_all_scales_read() const {
    TORCH_CHECK(next_scale_ == scales_.size(), op_, ": expected ", next_scale_,
                " scales (one per int8 matrix), got ", scales_.size());
  }

 private:
  const char* op_;
  at::TensorList weights_, scales_;
  const Tensor& like_;
  size_t next_ = 0, next_scale_ = 0;
};

DecoderMemory decoder_memory(const char* op, const Tensor& values, const Tensor& mask,
                             const OptTensor& keys_proj) {
  check_floating(op, "values", values);
  check_rank(op, "values", values, 3, "(batch, src_len, encoder_output_size)");
  TORCH_CHECK(mask.scalar_type() == at::kBool, op,
              ": expected mask of dtype Bool (True = a real source token), got ",
              mask.scalar_type());
  TORCH_CHECK(mask.sizes() == values.sizes().slice(0, 2) && mask.device() == values.device(), op,
              ": expected mask of shape ", values.sizes().slice(0, 2), " on ", values.device(),
              ", got ", mask.sizes(), " on ", mask.device());
  return {values.contiguous(), mask.contiguous(),
          keys_proj.has_value() ? keys_proj->contiguous() : Tensor()};
}

DecoderWeights decoder_weights(const char* op, at::TensorList weights, at::TensorList scales,
                               std::string_view cell, std::string_view attention,
                               bool input_feeding, at::TensorList state,
                               const DecoderMemory& memory) {
  DecoderWeights w{parse_cell(op, cell), parse_attention(op, attention), input_feeding};
  const bool attends = w.attention != DecoderAttention::None;
  TORCH_CHECK(!input_feeding || attends, op, ": input feeding needs attention");
  const int64_t expected_states = w.is_lstm() ? 2 : 1;
  TORCH_CHECK(static_cast<int64_t>(state.size()) == expected_states, op, ": expected ",
              expected_states, " state tensor(s) (", w.is_lstm() ? "h and c" : "h", "), got ",
              state.size());
  check_rank(op, "state h", state[0], 3, "(layers, batch, hidden_size)");
  const int64_t L = state[0].size(0), B = state[0].size(1), H = state[0].size(2);
  const int64_t G = gates_of(w.cell), K = memory.values.size(2), S = memory.values.size(1);
  TORCH_CHECK(L >= 1, op, ": expected at least one layer in state h, got shape ", state[0].sizes());
  const int64_t count = 1 + 4 * L + attention_weight_count(w.attention) + (attends ? 2 : 0) + 2;
  TORCH_CHECK(static_cast<int64_t>(weights.size()) == count, op, ": expected ", count,
              " weights (embedding, 4 per layer, attention, combine, output) for ", L,
              " layer(s) and ", attention, " attention, got ", weights.size());
  const Tensor& like = memory.values;
  check_tensor(op, "values", like, {B, S, K}, state[0], "state h");
  for (const Tensor& s : state) check_tensor(op, "state", s, {L, B, H}, like, "values");
  const Tensor& embedding = weights[0];
  check_rank(op, "embedding", embedding, 2, "(tgt_vocab_size, embedding_size)");
  WeightReader read(op, weights, scales, like);
  w.embedding = read.next("embedding", embedding.sizes());
  for (int64_t l = 0; l < L; ++l) {
    const std::string layer = "layer " + std::to_string(l) + " ";
    const int64_t input = l > 0 ? H : embedding.size(1) + (input_feeding ? H : 0);
    DecoderLayerWeights layer_weights;
    std::tie(layer_weights.w_ih, layer_weights.w_ih_scale) =
        read.matrix(layer + "w_ih", {G * H, input});
    std::tie(layer_weights.w_hh, layer_weights.w_hh_scale) =
        read.matrix(layer + "w_hh", {G * H, H});
    layer_weights.b_ih = read.next(layer + "b_ih", {G * H});
    layer_weights.b_hh = read.next(layer + "b_hh", {G * H});
    w.layers.push_back(layer_weights);
  }
  if (w.attention == DecoderAttention::Bahdanau) {
    TORCH_CHECK(memory.keys_proj.defined(), op, ": Bahdanau attention needs keys_proj");
    check_rank(op, "keys_proj", memory.keys_proj, 3, "(batch, src_len, attn_size)");
    const int64_t A = memory.keys_proj.size(2);
    check_tensor(op, "keys_proj", memory.keys_proj, {B, S, A}, like, "values");
    std::tie(w.query_weight, w.query_scale) = read.matrix("W_q", {A, H});
    w.scoring_vector = read.next("v", {A});
  }
  if (w.attention == DecoderAttention::LuongGeneral) w.query_weight = read.next("W", {H, K});
  TORCH_CHECK(w.attention != DecoderAttention::LuongDot || K == H, op,
              ": luong-dot attention needs values of size hidden_size ", H, ", got ", K);
  if (attends) {
    std::tie(w.combine_weight, w.combine_scale) = read.matrix("combine weight", {H, H + K});
    w.combine_bias = read.next("combine bias", {H});
  }
  const Tensor& output = weights[weights.size() - 2];
  check_rank(op, "output weight", output, 2, "(tgt_vocab_size, hidden_size)");
  std::tie(w.output_weight, w.output_scale) = read.matrix("output weight", {output.size(0), H});
  w.output_bias = read.next("output bias", {output.size(0)});
  read.check_all_scales_read();
  return w;
}

DecoderState decoder_state(const DecoderWeights& w, at::TensorList state) {
  DecoderState s;
  for (int64_t l = 0; l < state[0].size(0); ++l) {
    s.h.push_back(state[0][l].contiguous());
    if (w.is_lstm()) s.c.push_back(state[1][l].contiguous());
  }
  if (w.input_feeding) s.feed = at::zeros(s.h[0].sizes(), s.h[0].options());
  return s;
}

void check_search_args(const char* op, const DecoderWeights& w, SpecialTokens tokens,
                       int64_t max_len) {
  TORCH_CHECK(max_len >= 1, op, ": max_len must be >= 1, got ", max_len);
  const int64_t V = w.vocab_size();
  for (const auto& [name, index] :
       {std::pair{"sos", tokens.sos}, std::pair{"eos", tokens.eos}, std::pair{"pad", tokens.pad}}) {
    TORCH_CHECK(0 <= index && index < V, op, ": ", name, " index ", index,
                " is outside the target vocabulary [0, ", V, ")");
  }
  TORCH_CHECK(w.embedding.size(0) >= V, op, ": the embedding has ", w.embedding.size(0),
              " tokens, fewer than the output layer's ", V);
}

void check_pass_args(const char* op, const DecoderWeights& w, const DecoderMemory& memory,
                     const Tensor& tgt_in, const OptTensor& use_truth, int64_t padding_idx) {
  const int64_t B = memory.values.size(0);
  TORCH_CHECK(tgt_in.dim() == 2 && tgt_in.scalar_type() == at::kLong && tgt_in.size(0) == B &&
                  tgt_in.device() == memory.values.device(),
              op, ": expected tgt_in of dtype int64 and shape (", B, ", steps) on ",
              memory.values.device(), ", got ", tgt_in.scalar_type(), " of shape ", tgt_in.sizes(),
              " on ", tgt_in.device());
  if (use_truth.has_value()) {
    TORCH_CHECK(use_truth->scalar_type() == at::kBool && use_truth->sizes() == tgt_in.sizes() &&
                    use_truth->device() == tgt_in.device(),
                op, ": expected use_truth of dtype Bool and shape ", tgt_in.sizes(), " on ",
                tgt_in.device(), ", got ", use_truth->scalar_type(), " of shape ",
                use_truth->sizes(), " on ", use_truth->device());
    // Fed predictions index the embedding.
    TORCH_CHECK(w.embedding.size(0) >= w.vocab_size(), op, ": the embedding has ",
                w.embedding.size(0), " tokens, fewer than the output layer's ", w.vocab_size());
  }
  TORCH_CHECK(padding_idx >= -1 && padding_idx < w.embedding.size(0), op, ": padding_idx ",
              padding_idx, " is outside the embedding's [0, ", w.embedding.size(0),
              ") (or -1 for none)");
}

// The weights, memory and state both kinds of op take, checked against each other.
DecodeArgs decoder_args(const char* op, at::TensorList weights, at::TensorList scales,
                        std::string_view cell, std::string_view attention, bool input_feeding,
                        at::TensorList state, const Tensor& values, const Tensor& mask,
                        const OptTensor& keys_proj) {
  DecoderMemory memory = decoder_memory(op, values, mask, keys_proj);
  DecoderWeights w =
      decoder_weights(op, weights, scales, cell, attention, input_feeding, state, memory);
  DecoderState initial = decoder_state(w, state);
  return {std::move(w), std::move(memory), std::move(initial)};
}

}  // namespace

DecodeArgs decode_args(const char* op, at::TensorList weights, std::string_view cell,
                       std::string_view attention, bool input_feeding, at::TensorList state,
                       const Tensor& values, const Tensor& mask, const OptTensor& keys_proj,
                       SpecialTokens tokens, int64_t max_len, at::TensorList scales) {
  DecodeArgs args = decoder_args(op, weights, scales, cell, attention, input_feeding, state, values,
                                 mask, keys_proj);
  check_search_args(op, args.weights, tokens, max_len);
  return args;
}

DecoderDropout dropout_masks(const char* op, at::TensorList dropout, const DecoderWeights& w,
                             const DecoderState& state, int64_t steps) {
  if (dropout.empty()) return {};
  TORCH_CHECK(dropout.size() == 3, op,
              ": expected dropout to be empty or 3 masks (embedding, between layers, output), "
              "got ",
              dropout.size());
  const Tensor& h = state.h[0];
  const int64_t L = static_cast<int64_t>(state.h.size()), B = h.size(0), H = h.size(1);
  const int64_t E = w.embedding.size(1);
  check_tensor(op, "dropout embedding mask", dropout[0], {steps, B, E}, h, "state h");
  check_tensor(op, "dropout mask between layers", dropout[1], {L - 1, steps, B, H}, h, "state h");
  check_tensor(op, "dropout output mask", dropout[2], {steps, B, H}, h, "state h");
  return {dropout[0].contiguous().view({steps * B, E}),
          dropout[1].contiguous().view({L - 1, steps * B, H}),
          dropout[2].contiguous().view({steps * B, H})};
}

DecodeArgs pass_args(const char* op, at::TensorList weights, std::string_view cell,
                     std::string_view attention, bool input_feeding, at::TensorList state,
                     const Tensor& values, const Tensor& mask, const OptTensor& keys_proj,
                     const Tensor& tgt_in, const OptTensor& use_truth, int64_t padding_idx) {
  for (const Tensor& weight : weights) {
    TORCH_CHECK(!is_reduced(weight, values), op,
                ": the training pass takes weights of the values' ", values.scalar_type(),
                ", got one of ", weight.scalar_type(), " (reduced-precision weights only decode)");
  }
  DecodeArgs args =
      decoder_args(op, weights, {}, cell, attention, input_feeding, state, values, mask, keys_proj);
  check_pass_args(op, args.weights, args.memory, tgt_in, use_truth, padding_idx);
  return args;
}

}  // namespace seq2seq_ext
