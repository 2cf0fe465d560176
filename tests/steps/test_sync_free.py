"""Per-iteration code never makes the host wait for the device: every method's step and
per-iteration handlers run a few iterations on the digits, on the CPU, under a dispatch mode
that fails on host synchronization.

What counts as a synchronization is what would block the host on a GPU: reading a value
(``.item()``, ``float()``, ``bool()``, ``if tensor > x``: ``aten._local_scalar_dense``), reading a
tensor into Python or NumPy (``.tolist()``, ``.numpy()``, which no dispatch op shows, so they are
patched), and ops whose output size depends on the data (``nonzero`` without a size, boolean-mask
indexing and assignment, ``masked_select``, ``unique``, ``bincount``, ``repeat_interleave``
without ``output_size``). A copy between host and device cannot be seen on a CPU; the steps'
few host-to-device copies are ``non_blocking`` by review.

The watched window of an iteration runs from Ignite's ``ITERATION_STARTED`` to the end of
``ITERATION_COMPLETED``, and for the device-resident loader from ``GET_BATCH_STARTED`` (except
the first batch of an epoch, where a loader draws the epoch's order). Per-epoch work (the
co-divide, pseudo-label refreshes, pool rebuilds, evaluation, history) may synchronize; so may
what runs every ``log_every`` iterations (progress bar, TensorBoard, the NaN check), which
these runs never reach.
"""

import traceback

import pytest
import torch
from accelerate.state import AcceleratorState
from ignite.engine import Events
from torch.utils._python_dispatch import TorchDispatchMode

from ignoise.config import to_dict
from ignoise.data import (
    ArrayImageDataset,
    NoisyData,
    eval_transform,
    load_digits_dataset,
    train_transform,
)
from ignoise.engine import Run
from ignoise.methods import METHODS, get_method

aten = torch.ops.aten

#: Ops that read device memory on the host whatever their arguments.
SYNCING_OPS = {
    aten._local_scalar_dense.default, aten.is_nonzero.default, aten.equal.default,
    aten.nonzero.default, aten.masked_select.default, aten.bincount.default,
    aten._unique2.default, aten.unique_dim.default, aten.unique_consecutive.default,
    aten.repeat_interleave.Tensor,
}
#: Indexing ops that synchronize when an index is a boolean mask (its nonzero is taken).
MASKABLE_OPS = {aten.index.Tensor, aten.index_put.default, aten.index_put_.default,
                aten._index_put_impl_.default}
#: Tensor methods that read data into Python without a dispatch op.
READ_METHODS = ("tolist", "numpy", "__array__")


class HostSync(AssertionError):
    """A host synchronization inside a watched window."""


def _where() -> str:
    frames = [f for f in traceback.extract_stack()[:-3] if "/ignoise/" in f.filename]
    return f"{frames[-1].filename}:{frames[-1].lineno}: {frames[-1].line}" if frames else "?"


class FailOnHostSync(TorchDispatchMode):
    """Raise :class:`HostSync` on any op that would make the host wait for the device."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        masked = func in MASKABLE_OPS and any(
            isinstance(i, torch.Tensor) and i.dtype in (torch.bool, torch.uint8)
            for i in args[1] if i is not None)
        if func in SYNCING_OPS or masked:
            raise HostSync(f"{func} synchronizes with the host, at {_where()}")
        return func(*args, **kwargs)


@pytest.fixture()
def watch(monkeypatch):
    """``watch(fn)`` runs ``fn`` under :class:`FailOnHostSync` with ``.tolist()``, ``.numpy()``
    and ``np.asarray(tensor)`` failing too; ``watch.trainer(engine, batches)`` watches every
    iteration of an Ignite engine instead."""
    state = {"active": False}

    for name in READ_METHODS:
        original = getattr(torch.Tensor, name)

        def read(self, *args, _name=name, _original=original, **kwargs):
            if state["active"]:
                raise HostSync(f"Tensor.{_name} reads the device, at {_where()}")
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, read)
    mode = FailOnHostSync()

    def enter(_=None):
        if not state["active"]:
            mode.__enter__()
            state["active"] = True

    def leave(_=None):
        if state["active"]:
            state["active"] = False
            mode.__exit__(None, None, None)

    def run(fn, *args, **kwargs):
        enter()
        try:
            return fn(*args, **kwargs)
        finally:
            leave()

    def trainer(engine, batches: bool):
        counts = {"iterations": 0}

        def first_batch_of_epoch(e):
            return e.state.iteration % e.state.epoch_length == 0

        if batches:
            engine.add_event_handler(Events.GET_BATCH_STARTED(
                event_filter=lambda e, _: not first_batch_of_epoch(e)), enter)
        engine.add_event_handler(Events.ITERATION_STARTED, enter)

        @engine.on(Events.ITERATION_COMPLETED)
        def _count(_):
            counts["iterations"] += 1
            leave()

        @engine.on(Events.EXCEPTION_RAISED)
        def _reraise(_, error):  # a handler here would otherwise swallow the error
            leave()
            raise error

        return counts

    run.trainer = trainer
    yield run
    leave()


def test_the_mode_catches_each_kind_of_synchronization(watch):
    x = torch.randn(6)
    for sync in (lambda: x.sum().item(), lambda: bool(x[0] > 0), lambda: float(x.max()),
                 lambda: x[x > 0], lambda: x.nonzero(), lambda: x.tolist(), lambda: x.numpy(),
                 lambda: x.masked_fill(x > 0, 0.0)[x < 0], lambda: torch.unique(x),
                 lambda: x.index_put_((x > 0,), torch.tensor(0.0))):
        with pytest.raises(HostSync):
            watch(sync)
    # What the hot paths use instead passes.
    watch(lambda: (torch.where(x > 0, x, 0.0), x[torch.tensor([0, 2])],
                   x.nonzero_static(size=6), x.masked_fill(x > 0, 1.0)))


DIGITS = dict(dataset="digits", model="digits_cnn", batch_size=32, output_dir=None,
              progress=False, cpu=True, noise="sym", noise_rate=0.4, log_every=10_000)

#: Every registered method, and the variants that run other steps or per-iteration code.
CASES = {
    "ce": ("ce", {}),
    "gss_ce-redraw_per_iteration": ("gss_ce", {"redraw": "iteration"}),
    "screening": ("screening", {"warmup_epochs": 1}),
    "gce": ("gce", {}),
    "sce-gss_targets": ("sce", {"targets": "gss"}),
    "label_smoothing": ("label_smoothing", {}),
    "coteaching-gss_targets": ("coteaching", {"num_gradual": 1, "targets": "gss"}),
    "coteaching_plus": ("coteaching_plus", {"num_gradual": 1, "init_epoch": 1}),
    "jocor": ("jocor", {"num_gradual": 1}),
    "decoupling": ("decoupling", {"init_epochs": 1}),
    "mentornet": ("mentornet", {"num_gradual": 1}),
    "mentornet-moving_percentile-torch_loader": ("mentornet", {
        "num_gradual": 1, "curriculum": "moving_percentile", "burn_in_epochs": 1,
        "loader": "torch"}),
    "colearning": ("colearning", {"projection_dim": 16}),
    "colearning-no_mixup-torch_loader": ("colearning", {"mixup_alpha": 0.0,
                                                        "loader": "torch"}),
    "elr-gss_targets": ("elr", {"targets": "gss"}),
    "elr_plus": ("elr_plus", {}),
    "fdiv": ("fdiv", {"warmup_epochs": 1}),
    "fine": ("fine", {"warmup_epochs": 1}),
    "gal": ("gal", {"warmup_epochs": 1}),
    "gal-random_update": ("gal", {"warmup_epochs": 1, "variant": "random_update"}),
    "gal-ab_freeze": ("gal", {"warmup_epochs": 1, "variant": "ab_freeze"}),
    "gal-ab_random-channel": ("gal", {"warmup_epochs": 1, "variant": "ab_random",
                                      "agreement_granularity": "channel"}),
    "gal-literal-online_pseudo_labels": ("gal", {"warmup_epochs": 1,
                                                 "agreement_reading": "literal",
                                                 "pseudo_labels": "online"}),
    "gal-zero_grad-element-bf16": ("gal", {"warmup_epochs": 1, "masked_update": "zero_grad",
                                           "agreement_granularity": "element",
                                           "mixed_precision": "bf16"}),
    "dividemix": ("dividemix", {"warmup_epochs": 1, "lambda_u": 25.0}),
    "dividemix-alternate_iteration-labeled_rows_only": ("dividemix", {
        "warmup_epochs": 1, "lambda_u": 0.0, "alternate": "iteration",
        "labeled_rows_only": True}),
    "dividemix-lambda_u_0-penalty-torch_loader": ("dividemix", {
        "warmup_epochs": 1, "lambda_u": 0.0, "confidence_penalty": True, "loader": "torch"}),

    "gss_ssl-switch_all-redraw_per_iteration": ("gss_ssl", {
        "warmup_epochs": 1, "lambda_u": 25.0, "redraw": "iteration",
        "gss_switched": ["warmup", "labeled", "unlabeled"]}),
}


@pytest.fixture(scope="module")
def digits():
    """The first 384 training digits (six iterations of 32, or three of 64 per network pair)
    and 100 test digits, 40% symmetric noise: the per-epoch passes are short."""
    train, test = load_digits_dataset(), load_digits_dataset(train=False)
    subset = lambda ds, n, transform: ArrayImageDataset(ds.images[:n], ds.targets[:n], 10,
                                                        transform=transform("digits"))
    return NoisyData.from_datasets(subset(train, 384, train_transform),
                                   subset(test, 100, eval_transform), noise="sym",
                                   noise_rate=0.4, seed=0, name="digits")


def test_the_cases_cover_every_registered_method():
    assert {method for method, _ in CASES.values()} == set(METHODS)


@pytest.mark.parametrize("method, options", list(CASES.values()), ids=list(CASES))
def test_iterations_do_not_synchronize(watch, request, digits, method, options):
    """Two epochs (a warm-up and a main one where the method has both) of three iterations,
    fed by the GPU-resident loader unless the case says otherwise."""
    spec = get_method(method)
    cfg = spec.config(**{**DIGITS, "epochs": 2, "loader": "gpu", **options})
    if cfg.mixed_precision != "no":
        # The Accelerator's state is per process: let this run set its own precision, and
        # the next test the default again.
        AcceleratorState._reset_state(reset_partial_state=True)
        request.addfinalizer(lambda: AcceleratorState._reset_state(reset_partial_state=True))
    run = Run.from_config(cfg, method=method, config=to_dict(cfg))
    parts = spec.build(run, digits, cfg)
    run.attach(parts.trainer, evaluators={}, to_save=parts.to_save,
               scalar_keys=parts.scalar_keys)
    counts = watch.trainer(parts.trainer, batches=cfg.loader != "torch")
    state = parts.trainer.run(parts.train_loader, max_epochs=2, epoch_length=3)
    assert counts["iterations"] == 6 and state.epoch == 2
    assert torch.isfinite(torch.as_tensor(state.output["loss"])).all()
