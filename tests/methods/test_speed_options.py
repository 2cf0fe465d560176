"""The speed options --channels-last and --compile: where they act, and the fallback of a network
that fails to compile. (bf16 is --mixed-precision bf16, Accelerate's; tests/steps/test_sync_free.py
trains GAL under it.)"""

import warnings

import pytest
import torch
from ignite.engine import Engine

from ignoise.config.run_folder import UNCOMPARED
from ignoise.data import build_noisy_data
from ignoise.engine import Run, compile_network, compile_networks
from ignoise.engine.speed import is_compile_error
from ignoise.methods import CEConfig, GALConfig
from ignoise.methods.components import new_network


def failing_backend(graph, example_inputs):
    raise RuntimeError("this backend cannot compile anything")


def test_channels_last_networks_come_from_new_network():
    data = build_noisy_data("digits", "data")
    plain = new_network(CEConfig(model="digits_cnn"), data)
    fast = new_network(GALConfig(model="digits_cnn", channels_last=True), data)
    # The second convolution: a one-channel kernel is both layouts at once.
    assert not plain.body[3].weight.is_contiguous(memory_format=torch.channels_last)
    assert fast.body[3].weight.is_contiguous(memory_format=torch.channels_last)
    x = torch.randn(4, 1, 8, 8)
    fast.load_state_dict(plain.state_dict())  # the same weights, another layout
    torch.testing.assert_close(fast(x), plain(x), atol=1e-5, rtol=1e-5)


def test_a_network_that_fails_to_compile_warns_and_runs_eagerly():
    torch.manual_seed(0)
    net, reference = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    reference.load_state_dict(net.state_dict())
    compile_network(net, backend=failing_backend)
    x = torch.randn(5, 3)
    with pytest.warns(UserWarning, match="torch.compile failed for Linear .* runs eagerly"):
        out = net(x)
    torch.testing.assert_close(out, reference(x))
    assert net._compiled_call_impl is None  # eager from now on: no second attempt, no warning
    torch.testing.assert_close(net(x), reference(x))
    assert list(net.state_dict()) == ["weight", "bias"]  # checkpoints keep their keys
    torch._dynamo.reset()


def test_errors_of_the_network_itself_are_not_swallowed():
    net = compile_network(torch.nn.Linear(3, 2), backend="eager")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback warning: nothing failed to compile
        with pytest.raises(RuntimeError, match="mat1 and mat2") as err:
            net(torch.randn(5, 4))  # wrong width: the network's error, raised as such
    assert not is_compile_error(err.value)
    assert net._compiled_call_impl is not None  # still compiled for the right inputs
    torch._dynamo.reset()


def test_run_compiles_every_network_it_saves_once():
    run = Run(seed=0, cpu=True, progress=False, compile=True)
    a, b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    run.attach(Engine(lambda engine, batch: {}), evaluators={},
               to_save={"model_a": a, "model_b": b, "other": 3})
    assert a._compiled_call_impl is not None and b._compiled_call_impl is not None
    assert len(compile_networks([a, a])) == 1
    assert Run.from_config(CEConfig(compile=True, output_dir=None, cpu=True), "ce").compile
    # Layout and compilation change rounding only: a resume may switch them.
    assert {"channels_last", "compile"} <= UNCOMPARED
