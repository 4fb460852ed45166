"""What every op's registration in this package uses: empty outputs for the
fake kernels, the output_mask a backward op takes, and autocast."""

import torch


def new(like: torch.Tensor, *shape) -> torch.Tensor:
    """An empty tensor of `shape` with the dtype and device of `like`
    (contiguous, like every kernel output)."""
    return like.new_empty(shape)


def grad_or_empty(want: bool, like: torch.Tensor, shape) -> torch.Tensor:
    """A fake gradient: of `shape` when it is wanted, else empty, as the
    backward kernels return it; the dtype and device of `like`."""
    return new(like, *shape) if want else new(like, 0)


def output_mask(ctx, *groups) -> list:
    """The output_mask of a backward op: for each group of the forward op's
    argument positions, whether autograd wants the gradient of any of them.
    ctx.needs_input_grad leaves out trailing arguments left at their default
    (None): a position past its end wants nothing."""
    needs = ctx.needs_input_grad
    return [any(i < len(needs) and needs[i] for i in group) for group in groups]


def zeros_where_missing(grads, outputs) -> tuple:
    """The gradients of `outputs`, zeros where autograd passed None: a backward
    whose setup_context called ctx.set_materialize_grads(False) gets None for
    an output nothing used, and for its non-differentiable saved tensors."""
    return tuple(
        torch.zeros_like(output) if grad is None else grad for grad, output in zip(grads, outputs)
    )


def only_needed(ctx, grads) -> tuple:
    """The gradients autograd asked for; None for the others."""
    return tuple(g if need else None for g, need in zip(grads, ctx.needs_input_grad))


def zeros_if_none(grad, like, *shape):
    """The gradient of an output nobody used: autograd may hand None."""
    return like.new_zeros(shape) if grad is None else grad


# Autocast. Like torch's RNN cells, the forward ops run in the autocast dtype
# (float16 or bfloat16, whichever the autocast region asks for; torch.library's
# own register_autocast fixes one dtype per device, hence this small version of
# it). The backward ops run in the dtype of what the forward saved, whether or
# not backward() is called inside an autocast region. Either way autocast is
# off inside the op, so the GEMMs it runs through ATen are not cast again.
_LIBRARY = torch.library.Library("seq2seq_ext", "IMPL")
DEVICE_TYPES = ("cpu", "cuda")


def register_op(qualified_name: str, fake, setup_context, backward, backward_fake, reference):
    """Everything torch needs of the op `qualified_name` ("seq2seq_ext::lstm_cell")
    besides its kernels: its fake kernel, its autograd formula (setup_context,
    which saves the op's arguments first, then what its backward needs besides;
    and backward, which calls the op's backward op), autocast; and the fake kernel
    and autocast of its backward op ("seq2seq_ext::lstm_cell_backward").
    `reference` is the op in differentiable torch ops (same arguments, the
    differentiable outputs in the op's order): a double backward goes through it."""
    backward_name = qualified_name + "_backward"
    op = getattr(torch.ops.seq2seq_ext, qualified_name.split("::")[1]).default
    arguments = len(op._schema.arguments)
    torch.library.register_fake(qualified_name, fake)
    torch.library.register_autograd(
        qualified_name,
        twice_differentiable(backward, reference, arguments),
        setup_context=setup_context,
    )
    register_autocast(qualified_name)
    torch.library.register_fake(backward_name, backward_fake)
    register_autocast(backward_name, cast_inputs=False)


def twice_differentiable(backward, reference, arguments: int):
    """`backward`; but where autograd records the backward (create_graph=True,
    for a double backward, which the backward ops cannot give), the same
    gradients by autograd through `reference`, run again on the op's
    `arguments` arguments that setup_context saved first: a graph that can be
    differentiated again, as torch.nn's recurrent modules give on the CPU."""

    def backward_or_recorded(ctx, *grads):
        if not torch.is_grad_enabled():
            return backward(ctx, *grads)
        inputs = ctx.saved_tensors[:arguments]
        needs = ctx.needs_input_grad
        outputs = reference(*inputs)
        outputs = (outputs,) if isinstance(outputs, torch.Tensor) else outputs
        pairs = [(o, g) for o, g in zip(outputs, grads) if g is not None and o.requires_grad]
        wanted = [x for x, need in zip(inputs, needs) if need]
        if not pairs or not wanted:
            return (None,) * len(needs)
        found = iter(
            torch.autograd.grad(
                [o for o, _ in pairs],
                wanted,
                [g for _, g in pairs],
                create_graph=True,
                allow_unused=True,
            )
        )
        return tuple(next(found) if need else None for need in needs)

    return backward_or_recorded


def once_differentiable(qualified_name: str, backward):
    """`backward`, refusing with a clear error to run where autograd would
    record it (create_graph=True): for an op whose backward op has no
    derivative and no differentiable reference to go through instead."""

    def backward_once(ctx, *grads):
        if torch.is_grad_enabled():
            raise RuntimeError(
                f"{qualified_name} supports one backward, not a double backward "
                "(create_graph=True): its backward op has no derivative"
            )
        return backward(ctx, *grads)

    return backward_once


def register_autocast(qualified_name: str, cast_inputs: bool = True) -> None:
    """Under torch.autocast on either device type, the op `qualified_name`
    ("seq2seq_ext::lstm_cell") runs with autocast off: a forward op on its
    floating-point arguments cast to the autocast dtype (cast_inputs), a
    backward op on its arguments as they are."""
    op_name = qualified_name.split("::")[1]
    op = getattr(torch.ops.seq2seq_ext, op_name).default
    for device_type in DEVICE_TYPES:
        _register_autocast_on(op, op_name, device_type, cast_inputs)


def _register_autocast_on(op, op_name: str, device_type: str, cast_inputs: bool) -> None:
    key_name = "Autocast" + torch._C._dispatch_key_for_device(device_type)
    key = getattr(torch._C.DispatchKey, key_name)
    excluded = torch._C.DispatchKeySet(key)

    def cast(value, dtype):
        if (
            cast_inputs
            and isinstance(value, torch.Tensor)
            and value.is_floating_point()
            and value.device.type == device_type
        ):
            return value.to(dtype)
        return value

    @op.py_impl(key)
    def run_without_autocast(*args):
        dtype = torch.get_autocast_dtype(device_type)
        with torch._C._ExcludeDispatchKeyGuard(excluded):
            return op(*(cast(arg, dtype) for arg in args))

    _LIBRARY.impl(
        op_name, lambda _keyset, *args: run_without_autocast(*args), key_name, with_keyset=True
    )
