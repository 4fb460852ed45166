"""On CUDA the kernels launch on the current stream, whichever it is, and the
attention ops can be captured in a CUDA graph and replayed on new inputs."""

import pytest
import torch
from attention_args import OPS, Attn, make
from conftest import flat_tensors, requires_cuda
from test_decoding_ops import make_model, make_source
from torch.utils._pytree import tree_flatten, tree_unflatten

import seq2seq_ext
from seq2seq_ext import functional

pytestmark = requires_cuda

# GPU clock cycles the side stream spins for before it writes a computation's
# inputs (tens of milliseconds): a kernel launched on another stream would run
# meanwhile, on inputs not yet written.
SPIN_CYCLES = 50_000_000


def on_a_busy_side_stream(fn, inputs, differentiable=()):
    """fn(*inputs) on a new stream that first spins, then copies the inputs into
    fresh buffers there (the indices in `differentiable` then require grad);
    waits for the stream; returns fn's result."""
    stream = torch.cuda.Stream()
    buffers = [torch.zeros_like(t) for t in inputs]
    torch.cuda.synchronize()
    with torch.cuda.stream(stream):
        torch.cuda._sleep(SPIN_CYCLES)
        for buffer, t in zip(buffers, inputs):
            buffer.copy_(t)
        for i in differentiable:
            buffers[i].requires_grad_()
        result = fn(*buffers)
    stream.synchronize()
    return result


def values_and_grads(module_or_fn, *inputs):
    """Every output of a module or function and the gradients of its
    differentiable inputs (and parameters) for a sum of its outputs."""
    flat = flat_tensors(module_or_fn(*inputs))
    leaves = [t for t in inputs if t.requires_grad]
    if isinstance(module_or_fn, torch.nn.Module):
        leaves += list(module_or_fn.parameters())
    grads = torch.autograd.grad(sum(o.float().sum() for o in flat), leaves)
    return [o.detach() for o in flat] + list(grads)


def assert_same(ours, expected):
    """Equal integers; floats within a few float32 ulps (cuBLAS may pick another
    algorithm on another stream), far below what inputs read before they were
    written would give."""
    assert len(ours) == len(expected)
    for a, b in zip(ours, expected):
        if a.is_floating_point():
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
        else:
            assert torch.equal(a, b)


@pytest.mark.parametrize(
    "module",
    [
        seq2seq_ext.FusedLSTM(16, 32, num_layers=2, bidirectional=True),
        seq2seq_ext.FusedGRU(16, 32),
        seq2seq_ext.FusedRNN(16, 32, nonlinearity="relu"),
        seq2seq_ext.FusedLSTMCell(16, 32),
        seq2seq_ext.FusedGRUCell(16, 32),
    ],
    ids=lambda m: type(m).__name__,
)
def test_recurrent_kernels_run_on_the_current_stream(module):
    module = module.cuda()
    x = torch.randn(9, 4, 16, device="cuda")
    if isinstance(module, torch.nn.RNNCellBase):
        x = x[0]
    expected = values_and_grads(module, x.clone().requires_grad_())
    ours = on_a_busy_side_stream(lambda x: values_and_grads(module, x), [x], differentiable=[0])
    assert_same(ours, expected)


@pytest.mark.parametrize("op", OPS)
def test_attention_kernels_run_on_the_current_stream(op):
    args = make(op, B=8, S=40, A=64, D=48, dtype=torch.float32, device="cuda")
    names = list(args.tensors)
    tensors = [t.detach() for t in args.tensors.values()]

    def run(mask, *tensors):
        call = Attn(op, dict(zip(names, tensors)), mask)
        return values_and_grads(lambda *t: call.call("fused"), *tensors)

    expected = run(args.mask, *[t.clone().requires_grad_() for t in tensors])
    differentiable = range(1, len(tensors) + 1)
    ours = on_a_busy_side_stream(run, [args.mask, *tensors], differentiable)
    assert_same(ours, expected)
    scores = torch.randn(8, 40, device="cuda")
    softmax = lambda mask, s: values_and_grads(functional.masked_softmax, s, mask)  # noqa: E731
    expected = softmax(args.mask, scores.clone().requires_grad_())
    assert_same(on_a_busy_side_stream(softmax, [args.mask, scores], [1]), expected)


def encoded_arguments(model, src, lengths) -> tuple:
    """The decoding ops' leading arguments (the decoder's weights, its cell,
    attention and input feeding, the state, the memory) for `src`, encoded
    here on the current stream. (Encoding inside the side stream would not do:
    the encoder's length check reads a value on the host, which waits for that
    stream, so an op launched on another stream would find its inputs written.)"""
    with torch.no_grad():
        memory, state = model.encode(src, lengths)
    return model.decoder.decoding_op_arguments(memory, state)


def with_tensors_replaced(op, args):
    """(the tensors among the op's arguments, lists included, and a function
    that calls the op with other tensors in their places)."""
    flat, spec = tree_flatten(args)
    places = [i for i, x in enumerate(flat) if isinstance(x, torch.Tensor)]

    def call(*tensors):
        values = list(flat)
        for place, tensor in zip(places, tensors):
            values[place] = tensor
        return op(*tree_unflatten(values, spec))

    return [flat[i] for i in places], call


@pytest.mark.parametrize("beam_size", [None, 3], ids=["greedy", "beam3"])
def test_decoding_ops_run_on_the_current_stream(beam_size):
    """The op itself on the busy side stream, its every tensor argument (the
    weights, state and memory) written there after the spin."""
    model = make_model("lstm", "bahdanau", True, True).cuda()
    src, lengths = make_source(batch=5, device="cuda")
    config = model.config
    tokens = (config.sos_index, config.eos_index, config.pad_index, 9)
    if beam_size is None:
        op, search_options = torch.ops.seq2seq_ext.greedy_decode, ()
    else:
        op, search_options = torch.ops.seq2seq_ext.beam_search, (beam_size, 0.7)
    args = (*encoded_arguments(model, src, lengths), *tokens, *search_options, [])
    tensors, decode = with_tensors_replaced(op, args)
    with torch.no_grad():
        expected = decode(*tensors)
        ours = on_a_busy_side_stream(decode, tensors)
    assert_same(list(ours), list(expected))


def test_training_pass_op_runs_on_the_current_stream():
    """decoder_stepwise_pass (input feeding, scheduled sampling) and its
    backward on the busy side stream: the logits, the tokens it fed back and
    the gradients of its weights, state and memory."""
    model = make_model("lstm", "bahdanau", True, True).cuda().train()
    src, lengths = make_source(batch=5, device="cuda")
    generator = torch.Generator().manual_seed(2)
    tgt_in = torch.randint(3, model.config.tgt_vocab_size, (5, 6), generator=generator).cuda()
    tgt_in[:, 0] = model.config.sos_index
    use_truth = (torch.rand(5, 6, generator=generator) < 0.5).cuda()
    args = (*encoded_arguments(model, src, lengths), tgt_in, use_truth, [], model.config.pad_index)
    tensors, train_pass = with_tensors_replaced(torch.ops.seq2seq_ext.decoder_stepwise_pass, args)
    differentiable = [i for i, t in enumerate(tensors) if t.is_floating_point()]

    def logits_tokens_and_grads(*tensors):
        return values_and_grads(lambda *t: train_pass(*t)[:2], *tensors)

    leaves = [t.clone().requires_grad_(i in differentiable) for i, t in enumerate(tensors)]
    expected = logits_tokens_and_grads(*leaves)
    ours = on_a_busy_side_stream(logits_tokens_and_grads, tensors, differentiable)
    assert_same(ours, expected)


@pytest.mark.parametrize("op", OPS)
def test_attention_ops_replay_in_a_cuda_graph(op):
    """Forward and backward captured once, replayed on other inputs (another
    mask too) copied into the captured ones: what an eager call on those gives."""
    static = make(op, B=8, S=40, A=64, D=48, dtype=torch.float32, device="cuda")
    leaves = static.differentiable()

    def step():
        outputs = static.call("fused")
        loss = sum((o * torch.linspace(0, 1, o.shape[-1], device="cuda")).sum() for o in outputs)
        return [*outputs, *torch.autograd.grad(loss, leaves)]

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm-up, as torch.cuda.graph asks
        for _ in range(2):
            step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        captured = step()

    fresh = make(op, B=8, S=40, A=64, D=48, dtype=torch.float32, device="cuda", seed=1)
    assert not torch.equal(fresh.mask, static.mask)
    with torch.no_grad():
        for name, t in fresh.tensors.items():
            static.tensors[name].copy_(t)
        static.mask.copy_(fresh.mask)
    graph.replay()
    torch.cuda.synchronize()
    outputs = fresh.call("fused")
    loss = sum((o * torch.linspace(0, 1, o.shape[-1], device="cuda")).sum() for o in outputs)
    expected = [*outputs, *torch.autograd.grad(loss, fresh.differentiable())]
    for a, b in zip(captured, expected):
        torch.testing.assert_close(a, b.detach(), rtol=1e-5, atol=1e-6)
