"""The Fused modules through PyTorch's own test inputs for torch.nn's recurrent
modules (torch.testing._internal.common_modules.module_db): every sample input
gives torch's results, every error input torch's exception type and message."""

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

# torch.testing._internal imports expecttest, a test dependency of torch's that a
# machine with torch alone (the GPU check's) may lack: skip this file there.
pytest.importorskip("expecttest")
from torch.testing._internal.common_modules import ModuleErrorEnum, module_db  # noqa: E402

import seq2seq_ext

FUSED = {
    nn.LSTM: seq2seq_ext.FusedLSTM,
    nn.GRU: seq2seq_ext.FusedGRU,
    nn.RNN: seq2seq_ext.FusedRNN,
    nn.LSTMCell: seq2seq_ext.FusedLSTMCell,
    nn.GRUCell: seq2seq_ext.FusedGRUCell,
    nn.RNNCell: seq2seq_ext.FusedRNNCell,
}
INFOS = [info for info in module_db if info.module_cls in FUSED]


def test_module_db_has_every_recurrent_module():
    assert {info.module_cls for info in INFOS} == set(FUSED)


def both(cls, constructor_input, dtype):
    """torch's module and ours, from one seed (the same weights), in `dtype`."""
    modules = []
    for module_class in (cls, FUSED[cls]):
        torch.manual_seed(0)
        module = module_class(*constructor_input.args, **constructor_input.kwargs)
        modules.append(module.to(dtype))
    return modules


def tensors_in(value):
    if isinstance(value, PackedSequence):
        return [value.data, value.batch_sizes]
    if isinstance(value, torch.Tensor):
        return [value]
    return [t for item in value for t in tensors_in(item)]


@pytest.mark.parametrize("training", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize("info", INFOS, ids=lambda info: info.name)
def test_sample_inputs_give_torch_results(info, training):
    samples = info.module_inputs_func(
        info, device="cpu", dtype=torch.float64, requires_grad=True, training=training
    )
    for sample in samples:
        results = []
        for module in both(info.module_cls, sample.constructor_input, torch.float64):
            module.train(training)
            torch.manual_seed(1)  # the same dropout masks
            args, kwargs = sample.forward_input.args, sample.forward_input.kwargs
            results.append(tensors_in(module(*args, **kwargs)))
        theirs, ours = results
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("info", INFOS, ids=lambda info: info.name)
def test_error_inputs_raise_torch_errors(info):
    errors = info.module_error_inputs_func(
        info, device="cpu", dtype=torch.float32, requires_grad=False, training=False
    )
    for error in errors:
        sample = error.module_error_input
        raised = []
        for module_class in (info.module_cls, FUSED[info.module_cls]):
            with pytest.raises(error.error_type) as caught:
                module = module_class(
                    *sample.constructor_input.args, **sample.constructor_input.kwargs
                )
                assert error.error_on == ModuleErrorEnum.FORWARD_ERROR
                module(*sample.forward_input.args, **sample.forward_input.kwargs)
            raised.append(str(caught.value))
        assert raised[1] == raised[0]
