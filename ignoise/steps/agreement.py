"""Gradient agreement updating (GAL section 3.2, Algorithm 1): two identical networks, each
pair of corresponding parameters updated only where their gradients agree."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..data import epoch_generator, move_batch
from .agreement_masks import AgreementUnits, agreement_coefficients
from .masked_update import MaskedUpdate
from .pair_optimizers import step_together

__all__ = ["AgreementStep", "AGREEMENT_READINGS", "UPDATE_RULES", "MASKED_UPDATES"]

#: What eq. 4 compares. ``gradient``: the two gradients (default). ``literal``: eq. 2-3 as
#: written, ``P + lr * grad``. ``update``: the optimizer's actual steps (momentum, weight decay).
AGREEMENT_READINGS = ("gradient", "literal", "update")
#: Which units are updated. ``agreement``: coefficient >= threshold (eq. 5); ``all``: every
#: unit (plain training of both, agreement only measured: the contrast experiment, "A+B CE");
#: ``random``: a random subset shared by the pair ("A+B random updating" of Table 4).
UPDATE_RULES = ("agreement", "all", "random")
#: How a masked unit is held. ``freeze``: no update at all (value and optimizer state kept);
#: ``zero_grad``: its gradient is zeroed, so momentum and weight decay still move it.
MASKED_UPDATES = ("freeze", "zero_grad")


class AgreementStep:
    """One iteration of networks A and B on a paired batch ``{"a": batch, "b": batch}``.

    A is trained on ``batch["a"]`` and B on ``batch["b"]`` with cross-entropy on the given
    labels. After both backward passes, the gradient agreement coefficient (eq. 4, the cosine of
    the two networks' vectors) is computed for every unit, and the pair of units is updated
    (eq. 5) only where it is at least ``agreement_threshold``.

    Reading of eq. 2-4: taken literally, the cosine compares ``P_A + lr * grad_A`` with
    ``P_B + lr * grad_B``. The two networks start equal and ``lr * grad`` is tiny next to
    ``P``, so that cosine stays close to 1 and almost every pair would pass any threshold
    below 1. The default therefore compares the gradients themselves, which is what the
    paper's analysis (divergent gradient directions, Figure 1) describes; ``literal`` and
    ``update`` (the optimizer's actual steps) are options.

    Masked units get no update at all by default (``masked_update="freeze"``): the optimizer
    steps both networks, then the parameters and their optimizer state are put back wherever
    the pair disagreed. Zeroing only the gradient (``"zero_grad"``) would let momentum and
    weight decay keep moving a parameter that eq. 5 says must stay.

    Under DDP the gradients are all-reduced in the backward pass, before any coefficient is
    computed, so every rank computes and applies the same masks.

    Args:
        model_a, model_b: the two networks (identical architectures), prepared by Accelerate.
        optimizer_a, optimizer_b: their optimizers (prepared).
        accelerator: the run's Accelerator.
        agreement_threshold: ``tau`` of eq. 5 (paper: 0.4).
        reading: one of :data:`AGREEMENT_READINGS`.
        granularity: ``tensor`` (the paper's parameter ``P_i``), ``channel`` or ``element``
            (see :data:`ignoise.steps.agreement_masks.AGREEMENT_GRANULARITIES`).
        update: one of :data:`UPDATE_RULES`.
        masked_update: one of :data:`MASKED_UPDATES`; ``zero_grad`` needs ``reading="gradient"``.
        random_keep: the fraction of units updated when ``update="random"``.
        seed: seeds the random masks (with the iteration, so that every rank and a resumed run
            draw the same ones).
        loss_fn: per-sample loss ``(logits, y) -> (B,)``; default cross-entropy.

    Returns (per call): ``loss`` (A's plus B's), ``loss_a``, ``loss_b``, ``agreement_ratio``
    (fraction of parameter elements whose unit agrees), ``agreement_ratio_tensors`` (mean over
    tensors of that fraction; with ``tensor`` units, the fraction of tensors that agree) and
    ``updated_ratio``, all detached 0-d tensors; nothing here reads the device.

    Examples:
        >>> from accelerate import Accelerator
        >>> a, b = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
        >>> b.load_state_dict(a.state_dict())
        <All keys matched successfully>
        >>> step = AgreementStep(a, b, torch.optim.SGD(a.parameters(), 0.1),
        ...                      torch.optim.SGD(b.parameters(), 0.1), Accelerator(cpu=True))
        >>> half = {"x": torch.randn(8, 4), "y": torch.randint(0, 3, (8,)),
        ...         "index": torch.arange(8)}
        >>> float(step(None, {"a": half, "b": half})["agreement_ratio"])  # same batch: agree
        1.0
    """

    def __init__(
        self,
        model_a: torch.nn.Module,
        model_b: torch.nn.Module,
        optimizer_a: torch.optim.Optimizer,
        optimizer_b: torch.optim.Optimizer,
        accelerator,
        *,
        agreement_threshold: float = 0.4,
        reading: str = "gradient",
        granularity: str = "tensor",
        update: str = "agreement",
        masked_update: str = "freeze",
        random_keep: float = 0.5,
        seed: int = 0,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        _check_choice("reading", reading, AGREEMENT_READINGS)
        _check_choice("update", update, UPDATE_RULES)
        _check_choice("masked_update", masked_update, MASKED_UPDATES)
        if masked_update == "zero_grad" and reading != "gradient":
            raise ValueError(
                f"masked_update='zero_grad' decides before the optimizer step, which only the "
                f"'gradient' reading allows; got reading={reading!r}"
            )
        if not 0.0 <= random_keep <= 1.0:
            raise ValueError(f"random_keep must lie in [0, 1], got {random_keep}")
        self.params_a = [p for p in model_a.parameters() if p.requires_grad]
        self.params_b = [p for p in model_b.parameters() if p.requires_grad]
        shapes_a = [tuple(p.shape) for p in self.params_a]
        if shapes_a != [tuple(p.shape) for p in self.params_b]:
            raise ValueError("model_a and model_b must have the same parameters (shapes differ)")
        self.model_a, self.model_b = model_a, model_b
        self.optimizer_a, self.optimizer_b = optimizer_a, optimizer_b
        self.accelerator = accelerator
        self.agreement_threshold = float(agreement_threshold)
        self.reading, self.update, self.masked_update = reading, update, masked_update
        self.random_keep, self.seed = float(random_keep), int(seed)
        self.loss_fn = loss_fn or (lambda logits, y: F.cross_entropy(logits, y, reduction="none"))
        self.units = AgreementUnits(shapes_a, granularity, device=self.params_a[0].device)
        self._masked_a = MaskedUpdate(optimizer_a, self.params_a)
        self._masked_b = MaskedUpdate(optimizer_b, self.params_b)
        self._calls = 0
        #: The last iteration's coefficient per unit and whether the unit was updated (device
        #: tensors, for inspection; :meth:`AgreementUnits.split` gives them per parameter).
        self.coefficients: torch.Tensor | None = None
        self.updated: torch.Tensor | None = None

    def __call__(self, engine, batch: dict) -> dict:
        batch = move_batch(batch, self.accelerator.device)
        half_a, half_b = batch["a"], batch["b"]
        self.optimizer_a.zero_grad(set_to_none=True)
        self.optimizer_b.zero_grad(set_to_none=True)
        # One network after the other: only one graph is alive at a time, as in two plain steps.
        loss_a = self._forward_backward(self.model_a, half_a)
        loss_b = self._forward_backward(self.model_b, half_b)
        iteration = engine.state.iteration if engine is not None else self._calls
        self._calls += 1

        if self.masked_update == "zero_grad":
            self.coefficients = self._coefficients()
            agree = self.coefficients >= self.agreement_threshold
            keep = self._keep(agree, iteration)
            if self.update != "all":
                with torch.no_grad():
                    mask = self.units.split(keep.float())
                    for params in (self.params_a, self.params_b):
                        grads = [p.grad for p in params if p.grad is not None]
                        torch._foreach_mul_(grads, [m for p, m in zip(params, mask)
                                                    if p.grad is not None])
            self._step_optimizers()
        else:
            if self.update != "all" or self.reading != "gradient":
                self._masked_a.snapshot()
                self._masked_b.snapshot()
            self._step_optimizers()
            self.coefficients = self._coefficients()
            agree = self.coefficients >= self.agreement_threshold
            keep = self._keep(agree, iteration)
            if self.update != "all":
                frozen = self.units.split((~keep).float())
                self._masked_a.restore(frozen)
                self._masked_b.restore(frozen)
        self.updated = keep
        return {
            "loss": (loss_a + loss_b).detach(),
            "loss_a": loss_a.detach(),
            "loss_b": loss_b.detach(),
            "agreement_ratio": self.units.element_fraction(agree),
            "agreement_ratio_tensors": self.units.tensor_fraction(agree),
            "updated_ratio": self.units.element_fraction(keep),
        }

    def _forward_backward(self, model: torch.nn.Module, batch: dict) -> torch.Tensor:
        model.train()
        with self.accelerator.autocast():
            loss = self.loss_fn(model(batch["x"]).float(), batch["y"]).mean()
        self.accelerator.backward(loss)
        return loss

    @torch.no_grad()
    def _coefficients(self) -> torch.Tensor:
        """Eq. 4 per unit, for the chosen reading (after the optimizer step, except in
        ``zero_grad`` mode, which reads the gradients before it)."""
        grads_a, grads_b = _grads(self.params_a), _grads(self.params_b)
        if self.reading == "gradient":
            return agreement_coefficients(grads_a, grads_b, self.units)
        before_a, before_b = self._masked_a.params_before, self._masked_b.params_before
        if self.reading == "update":
            return agreement_coefficients(torch._foreach_sub(self.params_a, before_a),
                                          torch._foreach_sub(self.params_b, before_b),
                                          self.units)
        literal_a = torch._foreach_add(before_a, torch._foreach_mul(
            grads_a, _learning_rates(self.optimizer_a, self.params_a)))
        literal_b = torch._foreach_add(before_b, torch._foreach_mul(
            grads_b, _learning_rates(self.optimizer_b, self.params_b)))
        return agreement_coefficients(literal_a, literal_b, self.units)

    def _keep(self, agree: torch.Tensor, iteration: int) -> torch.Tensor:
        if self.update == "agreement":
            return agree
        if self.update == "all":
            return torch.ones_like(agree)
        g = epoch_generator(self.seed, iteration)
        draw = torch.rand(self.units.num_units, generator=g).to(agree.device, non_blocking=True)
        return draw < self.random_keep

    def _step_optimizers(self) -> None:
        step_together(self.accelerator, (self.optimizer_a, self.optimizer_b))


def _grads(params: list[torch.nn.Parameter]) -> list[torch.Tensor]:
    return [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]


def _learning_rates(optimizer, params: list[torch.nn.Parameter]) -> list[float]:
    lr_of = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    return [float(lr_of[id(p)]) for p in params]


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}: expected one of {choices}")
