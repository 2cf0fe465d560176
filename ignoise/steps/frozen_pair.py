"""GAL's frozen-pair ablation: after the warm-up A and B are no longer updated; they only
supply the joint prediction from which C is distilled."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from ..data import is_paired, move_batch

__all__ = ["FrozenPairStep"]


class FrozenPairStep:
    """Forwards the frozen networks A and B on a paired batch and reports the pair's outputs.

    Nothing is updated: the networks run in eval mode (batch-norm statistics stay as they
    are) under ``no_grad``, no optimizer is touched, and each network's previous train/eval
    mode is restored afterwards. A is evaluated on ``batch["a"]``, B on ``batch["b"]``, with the
    loss the pair would be trained with, so the losses are comparable with
    :class:`~ignoise.steps.AgreementStep`'s. An unpaired batch is given to both.

    The ratios keep :class:`~ignoise.steps.AgreementStep`'s meanings (the fraction of parameter
    elements whose unit passes the agreement test of eq. 5, and the fraction updated): a frozen
    pair is agreement updating with a threshold no cosine reaches, so no unit passes and none is
    updated, and all three ratios are 0. No gradient is computed to measure the pair's actual
    agreement.

    Args:
        models: the networks A and B (prepared); the wrapped modules are used if they are
            DDP-wrapped, so no collective runs in these forward passes.
        accelerator: the run's Accelerator (device, autocast).
        loss_fn: per-sample loss ``(logits, y) -> (B,)``; default cross-entropy.

    Returns (per call): ``loss`` (A's plus B's), ``loss_a``, ``loss_b``, ``agreement_ratio``,
    ``agreement_ratio_tensors`` and ``updated_ratio``, detached 0-d tensors on the device;
    nothing here reads the device.

    Examples:
        >>> from accelerate import Accelerator
        >>> a, b = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
        >>> step = FrozenPairStep([a, b], Accelerator(cpu=True))
        >>> half = {"x": torch.randn(8, 4), "y": torch.randint(0, 3, (8,)),
        ...         "index": torch.arange(8)}
        >>> before = a.weight.clone()
        >>> out = step(None, {"a": half, "b": half})
        >>> torch.equal(before, a.weight), float(out["updated_ratio"])
        (True, 0.0)
    """

    def __init__(
        self,
        models: Sequence[torch.nn.Module],
        accelerator,
        *,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        if len(models) != 2:
            raise ValueError(f"a frozen pair has two networks, got {len(models)}")
        # The plain modules: a DDP forward would broadcast buffers for nothing.
        self.models = [getattr(m, "module", m) for m in models]
        self.accelerator = accelerator
        self.loss_fn = loss_fn or (lambda logits, y: F.cross_entropy(logits, y, reduction="none"))

    @torch.no_grad()
    def __call__(self, engine, batch: dict) -> dict:
        batch = move_batch(batch, self.accelerator.device)
        halves = (batch["a"], batch["b"]) if is_paired(batch) else (batch, batch)
        loss_a, loss_b = (self._loss(model, half) for model, half in zip(self.models, halves))
        zero = loss_a.new_zeros(())
        return {"loss": loss_a + loss_b, "loss_a": loss_a, "loss_b": loss_b,
                "agreement_ratio": zero, "agreement_ratio_tensors": zero, "updated_ratio": zero}

    def _loss(self, model: torch.nn.Module, batch: dict) -> torch.Tensor:
        was_training = model.training
        model.eval()
        with self.accelerator.autocast():
            logits = model(batch["x"])
        model.train(was_training)
        return self.loss_fn(logits.float(), batch["y"]).mean()
