"""One GPU benchmark, in one run: CE, GAL and DivideMix epochs, the GAL pair step, and the
loaders, with and without channels-last, torch.compile and bf16, on synthetic CIFAR-shaped data.

    python benchmarks/gpu_suite.py                    # one GPU, under 5 minutes
    python benchmarks/gpu_suite.py --write-docs       # and append the rows to docs/benchmarks.md
    python benchmarks/gpu_suite.py --quick            # CPU, tiny sizes, seconds (a suite test)

Data: 50,000 uint8 32x32x3 images of 10 classes made in memory (smooth random fields; the
pixels do not matter to a timing), 40% symmetric label noise, the CIFAR augmentation (4-pixel
padded crop, flip), PreAct-ResNet18, batch 128 per network. ``--quick``: 256 images of 8x8x3,
the digits CNN, batch 32, a few iterations, ``torch.compile`` with its ``eager`` backend (the
plumbing, not the compiler), no FFCV unless ``--loaders`` names it.

Measured (each time-boxed: a few warm-up iterations, then ``--iters`` timed ones, with one
device synchronization at each end; an epoch is extrapolated as per-epoch passes plus the timed
iteration time times the iterations of a full epoch):

- ``plain loop``: the network's own training loop (GPU-resident batches, forward, cross-entropy,
  backward, SGD), no ignoise, Ignite or Accelerate: the floor a CE epoch is held to;
- ``CE epoch``: ``--method ce`` as a run trains it (its step, trainer and per-iteration
  handlers), and its ratio to the plain loop (goal: at most 1.3);
- ``GAL pair step``: one agreement step over two plain supervised steps, on a CDAS pair
  (goal: at most 1.05);
- ``GAL main epoch``: the pseudo-label pass of A and B plus the iterations of the main phase
  (pair step and distillation of C); with the CE epoch it extrapolates a GAL CIFAR-10 run of 80
  warm-up and 120 main epochs (goal: at most 20 minutes);
- ``DivideMix epoch``: the co-divide pass (both networks over the training set, the GMMs) plus
  the MixMatch iterations over two views;
- ``loader``: images per second of one epoch (time-boxed) of the torch DataLoader
  (``--workers`` processes), the GPU-resident loader (one and two views) and FFCV (its numba
  compilation in a first epoch apart), with the CIFAR augmentation (goal, GPU-resident: at least
  100,000 images/s).

Variants (``--variants``): ``base`` (fp32, NCHW, eager), ``channels_last``, ``bf16`` (autocast
through Accelerate), ``compile`` (``torch.compile`` of every network) and ``all`` (the three
together). ``compile`` times the plain loop, the CE epoch and the pair step only: compiling the
other methods' networks would not fit the time budget. Once ``--budget-s`` is spent, the
remaining measurements are skipped and say so.

``--write-docs`` appends the table, the device and the command to docs/benchmarks.md (or
``--docs PATH``); ``--json PATH`` writes the rows. Nothing is written without them.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import datetime
import io
import json
import math
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from accelerate.state import AcceleratorState
from ignite.engine import Events
from torchvision import transforms as T

from ignoise.data import (
    ArrayImageDataset,
    ClassDistributionAgreementSampler,
    GPUResidentLoader,
    NoisyData,
    build_loaders,
    make_train_loader,
    move_batch,
)
from ignoise.data.transforms import NORMALIZATION
from ignoise.engine import Run, compile_networks, to_channels_last
from ignoise.methods import CEConfig, DivideMixConfig, GALConfig, get_method
from ignoise.models import build_model
from ignoise.steps import AgreementStep, SupervisedStep

__all__ = ["main", "SIZES"]

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
VARIANTS = ("base", "channels_last", "bf16", "compile", "all")
LOADERS = ("torch", "gpu", "ffcv")
GAL_WARMUP_EPOCHS, GAL_MAIN_EPOCHS = 80, 120


@dataclass(frozen=True)
class Sizes:
    images: int
    side: int
    model: str
    batch: int
    iters: int
    warmup_iters: int
    workers: int
    loader_seconds: float
    compile_backend: str


#: The full suite (a GPU) and ``--quick`` (the CPU, seconds).
SIZES = {
    "full": Sizes(50_000, 32, "preact_resnet18", 128, 30, 5, 8, 10.0, "inductor"),
    "quick": Sizes(256, 8, "digits_cnn", 32, 1, 1, 0, 0.5, "eager"),
}


@dataclass(frozen=True)
class Variant:
    name: str
    channels_last: bool = False
    bf16: bool = False
    compile: bool = False

    @classmethod
    def named(cls, name: str) -> Variant:
        return cls(name, channels_last=name in ("channels_last", "all"),
                   bf16=name in ("bf16", "all"), compile=name in ("compile", "all"))


class Budget:
    """The suite's time budget: measurements after it is spent are skipped."""

    def __init__(self, seconds: float) -> None:
        self.end = time.perf_counter() + seconds

    @property
    def left(self) -> float:
        return self.end - time.perf_counter()

    @property
    def spent(self) -> bool:
        return self.left <= 0


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="CPU, tiny sizes, a few seconds")
    p.add_argument("--device", default=None, help="default: cuda if available (cpu with --quick)")
    p.add_argument("--variants", default=None,
                   help=f"comma-separated, of {', '.join(VARIANTS)} (default: all of them)")
    p.add_argument("--loaders", default=None,
                   help="comma-separated, of torch, gpu, ffcv (default: all; --quick: torch,gpu)")
    p.add_argument("--iters", type=int, default=None, help="timed iterations per measurement")
    p.add_argument("--images", type=int, default=None, help="synthetic training images")
    p.add_argument("--budget-s", type=float, default=240.0, help="time budget of the suite's "
                   "measurements (data and imports come on top)")
    p.add_argument("--write-docs", action="store_true", help="append the rows to --docs")
    p.add_argument("--docs", default=str(DOCS), help="the Markdown file --write-docs appends to "
                   "(default: docs/benchmarks.md)")
    p.add_argument("--json", default=None, help="write the rows to this file")
    args = p.parse_args(argv)
    sizes = SIZES["quick" if args.quick else "full"]
    if args.iters or args.images:
        sizes = Sizes(**{**sizes.__dict__, **({"iters": args.iters} if args.iters else {}),
                         **({"images": args.images} if args.images else {})})
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() and not args.quick
                                          else "cpu"))
    variants = [Variant.named(v) for v in _choices(args.variants, VARIANTS)]
    loaders = _choices(args.loaders or ("torch,gpu" if args.quick else None), LOADERS)
    budget = Budget(args.budget_s)
    started = time.perf_counter()

    data = synthetic_cifar(sizes.images, sizes.side)
    print(f"device: {_device_name(device)}; {sizes.images} images {sizes.side}x{sizes.side}x3, "
          f"{sizes.model}, batch {sizes.batch}, {sizes.iters} timed iterations per measurement")
    rows = loader_rows(data, sizes, device, loaders, budget)
    for variant in variants:
        rows += variant_rows(data, sizes, device, variant, budget)
    rows += goal_rows(rows, device)
    print_rows(rows)
    total = time.perf_counter() - started
    print(f"total: {total:.1f} s")
    command = "python benchmarks/gpu_suite.py " + " ".join(sys.argv[1:] if argv is None
                                                           else argv)
    if args.write_docs:
        append_to_docs(Path(args.docs), rows, device, sizes, command.strip(), total)
    if args.json:
        Path(args.json).write_text(json.dumps({"device": _device_name(device), "rows": rows,
                                               "total_s": total}, indent=2))
    return rows


def _choices(value: str | None, allowed: tuple[str, ...]) -> list[str]:
    chosen = [v.strip() for v in value.split(",")] if value else list(allowed)
    unknown = sorted(set(chosen) - set(allowed))
    if unknown:
        raise SystemExit(f"unknown {unknown}: expected some of {', '.join(allowed)}")
    return chosen


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} threads)"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ----------------------------------------------------------------------------------------------
# data

def synthetic_cifar(n: int, side: int, seed: int = 0) -> NoisyData:
    """``n`` uint8 ``(side, side, 3)`` images of 10 classes (upsampled 4x4 colour fields), 40%
    symmetric noise, a test set of ``n // 10``, named ``cifar10`` so that every loader applies
    CIFAR's augmentation and normalization."""
    g = torch.Generator().manual_seed(seed)
    fields = torch.randint(0, 256, (n + n // 10, 3, 4, 4), generator=g, dtype=torch.uint8)
    images = F.interpolate(fields.float(), size=(side, side), mode="bilinear",
                           align_corners=False).round().clamp(0, 255).to(torch.uint8)
    images = images.permute(0, 2, 3, 1).contiguous().numpy()
    labels = torch.randint(0, 10, (len(images),), generator=g).numpy()
    transform = T.Compose([T.RandomCrop(side, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
                           T.Normalize(*NORMALIZATION["cifar10"])])
    train = ArrayImageDataset(images[:n], labels[:n], 10, transform=transform)
    test = ArrayImageDataset(images[n:], labels[n:], 10)
    return NoisyData.from_datasets(train, test, noise="sym", noise_rate=0.4, seed=seed,
                                   name="cifar10")


# ----------------------------------------------------------------------------------------------
# loaders

def loader_rows(data: NoisyData, sizes: Sizes, device, loaders, budget: Budget) -> list[dict]:
    rows = []
    batch = sizes.batch
    shared = {"batch_size": batch, "device": device, "dataset_name": "cifar10", "seed": 0}
    for kind in loaders:
        if budget.spent:
            rows.append(_skipped(f"loader {kind}", "base"))
            continue
        if kind == "torch":
            loader = make_train_loader(data.train, batch, num_workers=sizes.workers,
                                       pin_memory=device.type == "cuda")
            rows.append(_loader_row("loader torch", loader, device, sizes,
                                    f"{sizes.workers} workers"))
        elif kind == "gpu":
            for views in (1, 2):
                loader = GPUResidentLoader(data.train, batch, views=views, device=device,
                                           normalization=NORMALIZATION["cifar10"])
                rows.append(_loader_row(f"loader gpu, {views} view{'s' * (views > 1)}", loader,
                                        device, sizes, "crop + flip on the device",
                                        images_per_batch=views * batch))
        else:
            with tempfile.TemporaryDirectory() as cache:
                start = time.perf_counter()
                loader, _ = build_loaders("ffcv", data.train, data.test, cache_dir=cache,
                                          num_workers=sizes.workers, **shared)
                converted = time.perf_counter() - start
                rows.append(_loader_row("loader ffcv", loader, device, sizes,
                                        f"{sizes.workers} threads; .beton written and compiled "
                                        f"in {converted:.1f} s"))
    return rows


def _loader_row(name, loader, device, sizes: Sizes, note: str, images_per_batch=None) -> dict:
    first = time.perf_counter()
    iterator = iter(loader)
    next(iterator)  # workers start, FFCV compiles: not timed
    first = time.perf_counter() - first
    count, start = 0, time.perf_counter()
    for batch in iterator:
        batch = move_batch(batch, device)
        count += images_per_batch or len(batch["index"])
        if time.perf_counter() - start > sizes.loader_seconds:
            break
    sync(device)
    seconds = time.perf_counter() - start
    rate = count / seconds if seconds > 0 else float("nan")
    return {"measure": name, "variant": "base", "value": rate, "unit": "images/s",
            "note": f"{note}; first batch {first:.2f} s"}


# ----------------------------------------------------------------------------------------------
# methods

@contextlib.contextmanager
def precision(variant: Variant):
    """A fresh Accelerator state with the variant's mixed precision (the state is one per
    process; a benchmark that changes precision resets it), restored to none afterwards."""
    AcceleratorState._reset_state(reset_partial_state=True)
    try:
        yield "bf16" if variant.bf16 else "no"
    finally:
        AcceleratorState._reset_state(reset_partial_state=True)


def variant_rows(data, sizes: Sizes, device, variant: Variant, budget: Budget) -> list[dict]:
    measures = [("plain loop", plain_loop), ("CE epoch", ce_epoch),
                ("GAL pair step", pair_step_ratio), ("GAL main epoch", gal_epoch),
                ("DivideMix epoch", dividemix_epoch)]
    if variant.compile:
        measures = measures[:3]
    # Compiling a ResNet takes a minute or two and cannot be interrupted: start only with time
    # for it left.
    needed = 120.0 if variant.compile and sizes.compile_backend != "eager" else 0.0
    rows = []
    for name, measure in measures:
        if budget.left <= needed:
            rows.append(_skipped(name, variant.name))
            continue
        torch.manual_seed(0)
        with precision(variant) as mixed:
            try:
                rows.append(measure(data, sizes, device, variant, mixed))
            except Exception as error:  # one failing measurement must not lose the others
                rows.append({"measure": name, "variant": variant.name, "value": None,
                             "unit": "", "note": f"failed: {type(error).__name__}: "
                             f"{str(error).splitlines()[0][:160]}"})
    return rows


def _skipped(name: str, variant: str) -> dict:
    return {"measure": name, "variant": variant, "value": None, "unit": "",
            "note": "skipped: time budget spent"}


def _config(cls, sizes: Sizes, variant: Variant, mixed: str, **options):
    return cls(dataset="cifar10", model=sizes.model, batch_size=sizes.batch, output_dir=None,
               progress=False, noise="sym", noise_rate=0.4, log_every=10 ** 9,
               loader="gpu", channels_last=variant.channels_last, mixed_precision=mixed,
               **options)


def _run(device, mixed: str) -> Run:
    return Run(seed=0, cpu=device.type == "cpu", mixed_precision=mixed, progress=False,
               tensorboard=False, checkpoint=False)


def _speed_up(modules, variant: Variant, sizes: Sizes) -> None:
    if variant.compile:
        compile_networks(modules, backend=sizes.compile_backend)


def plain_loop(data, sizes: Sizes, device, variant: Variant, mixed: str) -> dict:
    """The same network trained by a bare loop over the GPU-resident loader."""
    net = build_model(sizes.model, 10, 3).to(device)
    if variant.channels_last:
        net = to_channels_last(net)
    _speed_up([net], variant, sizes)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.02, momentum=0.9, weight_decay=5e-4)
    loader = GPUResidentLoader(data.train, sizes.batch, device=device,
                               normalization=NORMALIZATION["cifar10"])
    batches = iter(loader)
    net.train()

    def step():
        batch = next(batches)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=variant.bf16):
            loss = F.cross_entropy(net(batch["x"]).float(), batch["y"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    seconds = _time_iterations(step, sizes, device)
    return _epoch_row("plain loop", variant, seconds, len(loader), 0.0)


def _time_iterations(step, sizes: Sizes, device) -> float:
    """Seconds per iteration of ``step`` over ``sizes.iters`` calls after the warm-up ones."""
    for _ in range(sizes.warmup_iters):
        step()
    sync(device)
    start = time.perf_counter()
    for _ in range(sizes.iters):
        step()
    sync(device)
    return (time.perf_counter() - start) / sizes.iters


class Stopwatch:
    """Times iterations ``warmup + 1 .. warmup + iters`` of epoch ``epoch`` of a trainer (one
    device synchronization at each end), then stops it."""

    def __init__(self, trainer, device, epoch: int, warmup: int, iters: int) -> None:
        self.device, self.epoch, self.warmup, self.iters = device, epoch, warmup, iters
        self.seconds_per_iteration = float("nan")
        self._count, self._start = 0, 0.0
        trainer.add_event_handler(Events.ITERATION_COMPLETED, self._tick)

    def _tick(self, engine) -> None:
        if engine.state.epoch != self.epoch:
            return
        self._count += 1
        if self._count == self.warmup:
            sync(self.device)
            self._start = time.perf_counter()
        elif self._count == self.warmup + self.iters:
            sync(self.device)
            self.seconds_per_iteration = (time.perf_counter() - self._start) / self.iters
            engine.terminate()


def _train_method(method: str, cfg, data, sizes: Sizes, device, variant: Variant, mixed: str,
                  epoch: int):
    """Build ``method`` as a run does, attach the run's per-iteration handlers, and time the
    iterations of epoch ``epoch``; returns ``(seconds per iteration, parts, trainer)``."""
    run = _run(device, mixed)
    parts = get_method(method).build(run, data, cfg)
    run.attach(parts.trainer, evaluators={}, to_save=parts.to_save,
               scalar_keys=parts.scalar_keys)
    _speed_up(parts.to_save.values(), variant, sizes)
    watch = Stopwatch(parts.trainer, device, epoch, sizes.warmup_iters, sizes.iters)
    length = sizes.warmup_iters + sizes.iters + 1
    with contextlib.redirect_stdout(io.StringIO()):  # the run's per-epoch lines
        parts.trainer.run(parts.train_loader, max_epochs=epoch, epoch_length=length)
    return watch.seconds_per_iteration, parts


def ce_epoch(data, sizes, device, variant, mixed) -> dict:
    cfg = _config(CEConfig, sizes, variant, mixed)
    seconds, parts = _train_method("ce", cfg, data, sizes, device, variant, mixed, epoch=1)
    return _epoch_row("CE epoch", variant, seconds, len(parts.train_loader), 0.0)


def gal_epoch(data, sizes, device, variant, mixed) -> dict:
    """Main-phase epochs: the pseudo-label pass (timed by calling the handler) plus the pair
    step and distillation of every iteration."""
    cfg = _config(GALConfig, sizes, variant, mixed, warmup_epochs=1, epochs=2,
                  lr_milestones=[1])
    seconds, parts = _train_method("gal", cfg, data, sizes, device, variant, mixed, epoch=2)
    pseudo = parts.to_save["pseudo_labels"]
    passes = _time_pass(lambda: pseudo(parts.trainer), device)
    return _epoch_row("GAL main epoch", variant, seconds, len(parts.train_loader), passes,
                      "pseudo-label pass")


def dividemix_epoch(data, sizes, device, variant, mixed) -> dict:
    cfg = _config(DivideMixConfig, sizes, variant, mixed, warmup_epochs=1, epochs=2,
                  lambda_u=25.0, lr_milestones=[1])
    seconds, parts = _train_method("dividemix", cfg, data, sizes, device, variant, mixed,
                                   epoch=2)
    division = parts.to_save["division"]
    passes = _time_pass(lambda: division(parts.trainer), device)
    return _epoch_row("DivideMix epoch", variant, seconds, len(parts.train_loader), passes,
                      "co-divide pass")


def _time_pass(fn, device) -> float:
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def _epoch_row(name, variant: Variant, seconds, iterations: int, passes: float,
               pass_name: str = "") -> dict:
    epoch = passes + seconds * iterations
    note = f"{seconds * 1000:.2f} ms/iteration x {iterations}"
    if pass_name:
        note += f" + {pass_name} {passes:.2f} s"
    return {"measure": name, "variant": variant.name, "value": epoch, "unit": "s/epoch",
            "note": note, "seconds_per_iteration": seconds, "iterations": iterations,
            "pass_s": passes}


def pair_step_ratio(data, sizes, device, variant, mixed) -> dict:
    """One GAL pair step over two plain supervised steps on a CDAS pair, timed in
    alternation; the ratio of the medians."""
    run = _run(device, mixed)
    acc = run.accelerator
    nets = [build_model(sizes.model, 10, 3)]
    nets[0] = to_channels_last(nets[0]) if variant.channels_last else nets[0]
    nets.append(copy.deepcopy(nets[0]))
    optimizers = [torch.optim.SGD(n.parameters(), lr=0.02, momentum=0.9, weight_decay=5e-4)
                  for n in nets]
    net_a, net_b, opt_a, opt_b = acc.prepare(*nets, *optimizers)
    _speed_up([net_a, net_b], variant, sizes)
    sampler = ClassDistributionAgreementSampler(data.train.targets, sizes.batch,
                                                num_classes=10, identical_epochs=0)
    loader = GPUResidentLoader(data.train, sizes.batch, paired_sampler=sampler, device=device,
                               normalization=NORMALIZATION["cifar10"])
    pair = next(iter(loader))
    plain = [SupervisedStep(net_a, opt_a, acc), SupervisedStep(net_b, opt_b, acc)]
    gal = AgreementStep(net_a, net_b, opt_a, opt_b, acc)

    def two_plain():
        plain[0](None, pair["a"])
        plain[1](None, pair["b"])

    def pair_step():
        gal(None, pair)

    def timed(fn) -> float:
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        return time.perf_counter() - start

    for _ in range(sizes.warmup_iters):
        two_plain(), pair_step()
    times = {"plain": [], "gal": []}
    for i in range(sizes.iters):  # alternate which goes first
        order = (("gal", pair_step), ("plain", two_plain))[::1 if i % 2 else -1]
        for key, fn in order:
            times[key].append(timed(fn))
    t_plain, t_gal = statistics.median(times["plain"]), statistics.median(times["gal"])
    return {"measure": "GAL pair step", "variant": variant.name, "value": t_gal / t_plain,
            "unit": "x two plain steps",
            "note": f"{t_gal * 1000:.2f} ms vs {t_plain * 1000:.2f} ms (medians)"}


# ----------------------------------------------------------------------------------------------
# goals and output

def goal_rows(rows: list[dict], device) -> list[dict]:
    """Ratios and extrapolations each variant's rows allow, with the goals of the GPU."""
    out = []
    by = {(r["measure"], r["variant"]): r for r in rows if r.get("value") is not None}
    for variant in dict.fromkeys(r["variant"] for r in rows):
        ce, plain = by.get(("CE epoch", variant)), by.get(("plain loop", variant))
        if ce and plain:
            out.append({"measure": "CE epoch / plain loop", "variant": variant,
                        "value": ce["value"] / plain["value"], "unit": "x", "goal": "<= 1.3",
                        "note": ""})
        gal = by.get(("GAL main epoch", variant))
        if ce and gal:
            total = GAL_WARMUP_EPOCHS * ce["value"] + GAL_MAIN_EPOCHS * gal["value"]
            out.append({"measure": "GAL CIFAR-10 run (80 + 120 epochs)", "variant": variant,
                        "value": total / 60, "unit": "min (extrapolated)", "goal": "<= 20",
                        "note": "80 x CE epoch + 120 x GAL main epoch"})
    for row in rows:
        if row["measure"] == "GAL pair step":
            row["goal"] = "<= 1.05"
        if row["measure"] == "loader gpu, 1 view":
            row["goal"] = ">= 100,000"
    return out


def _format(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def print_rows(rows: list[dict]) -> None:
    width = max(len(r["measure"]) for r in rows)
    print(f"{'measure':<{width}}  {'variant':<13} {'value':>10}  {'unit':<18} {'goal':<10} note")
    for r in rows:
        print(f"{r['measure']:<{width}}  {r['variant']:<13} {_format(r['value']):>10}  "
              f"{r['unit']:<18} {r.get('goal', ''):<10} {r.get('note', '')}")


def append_to_docs(path: Path, rows: list[dict], device, sizes: Sizes, command: str,
                   total: float) -> None:
    today = datetime.date.today().isoformat()
    lines = ["", f"### GPU suite, {_device_name(device)}, {today}", "",
             f"`{command}` ({sizes.images} images {sizes.side}x{sizes.side}x3, {sizes.model}, "
             f"batch {sizes.batch}, {sizes.iters} timed iterations per measurement; "
             f"{total:.0f} s in all)", "",
             "| measure | variant | value | unit | goal | note |",
             "| --- | --- | ---: | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['measure']} | {r['variant']} | {_format(r['value'])} | "
                     f"{r['unit']} | {r.get('goal', '')} | {r.get('note', '')} |")
    with open(path, "a") as f:
        f.write("\n".join(lines) + "\n")
    print(f"appended {len(rows)} rows to {path}")


if __name__ == "__main__":
    main()
