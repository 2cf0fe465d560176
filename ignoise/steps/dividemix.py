"""DivideMix's step over two networks: a cross-entropy warm-up, then MixMatch with label
co-refinement and co-guessing, each network learning from the other's division."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from ..data import move_batch
from ..losses import confidence_penalty as negative_entropy
from ..losses import probability_mse, soft_cross_entropy, uniform_prior_penalty
from .mixmatch import co_guess, linear_rampup, mixup, refine_labels, sharpen
from .supervised import SupervisedStep

__all__ = ["DivideMixStep", "SWITCHABLE_TARGETS"]

#: Where targets drawn from a direction pool (GSS-SSL) can replace DivideMix's targets.
SWITCHABLE_TARGETS = ("warmup", "labeled", "unlabeled")


class DivideMixStep:
    """One iteration of DivideMix for both networks.

    The batch is a co-divide batch from a :class:`~ignoise.data.CoDivideBatchSampler` over a
    :class:`~ignoise.data.TwoViewDataset` (``x`` and ``x2`` are two augmentations):
    ``{"a": {"labeled", "unlabeled"}, "b": {...}}`` when the networks alternate every
    iteration (A then B), or ``{"labeled", "unlabeled"}`` of one network when they alternate
    by epoch (``alternate="epoch"``, DivideMix's loop: A for the first half of the epoch's
    iterations, B for the second, the sampler's two phases).

    - Warm-up (``epoch <= warmup_epochs``): each network takes a cross-entropy step on its
      ``labeled`` and ``unlabeled`` halves together (both are drawn from all samples then),
      plus the confidence penalty if asked (DivideMix: asymmetric noise, Clothing1M).
    - Afterwards, for network A and then B (the other one in eval mode): the labeled targets
      are refined, ``sharpen(w y + (1 - w) mean(p(x), p(x2)), T)`` with ``w`` the clean
      probability from the *other* network's division; the unlabeled targets are co-guessed,
      ``sharpen(mean of both networks on both views, T)``; all four views are mixed with
      mixup; the loss is ``L_x + lambda_u r(t) L_u + KL(uniform || mean prediction)`` with
      ``r`` the 16-epoch linear ramp-up after the warm-up.

    With ``labeled_only`` (DivideMix's Clothing1M and WebVision code, where ``lambda_u = 0``)
    only the mixed labeled rows are forwarded and trained; their mixup partners still come
    from all four views. Otherwise all four views are forwarded whatever ``lambda_u``, as
    DivideMix's CIFAR code (whose ``lambda_u = 0`` settings still feed the unlabeled rows to
    BatchNorm and the prior penalty).

    GSS-SSL: with ``targets`` (a direction pool's ``draw_targets``), the drawn directions
    replace the given labels where ``switched`` says: ``"warmup"`` (the warm-up's CE targets),
    ``"labeled"`` (the ``y`` of label refinement) and ``"unlabeled"`` (the co-guessed targets
    are replaced by the drawn one-hot direction). The division itself always uses the given
    labels.

    Args:
        models: the two networks (prepared).
        optimizers: their optimizers.
        accelerator: the run's Accelerator.
        division: the :class:`~ignoise.handlers.CoDivide` whose ``clean_prob`` gives ``w``.
        num_classes: ``K``.
        warmup_epochs: epochs of cross-entropy warm-up.
        lambda_u: weight of the unlabeled loss after the ramp-up.
        temperature: sharpening temperature ``T``.
        alpha: mixup's Beta parameter.
        rampup_epochs: length of the unlabeled weight's ramp-up.
        confidence_penalty: add the negative-entropy penalty to the warm-up.
        prior_penalty: add the uniform-prior regularizer.
        labeled_only: forward and train only the mixed labeled rows (see above).
        alternate: ``"iteration"`` or ``"epoch"``, the batches' layout (see above).
        targets: ``batch -> (B,)`` class indices that replace the given labels (GSS).
        switched: which targets ``targets`` replaces (subset of :data:`SWITCHABLE_TARGETS`).

    Returns (per call): ``{"loss", "labeled_loss", "unlabeled_loss", "prior_penalty",
    "unlabeled_weight"}``, detached 0-d tensors on the device (the losses are means over both
    networks, ``unlabeled_weight`` is ``lambda_u r(t)``); no host synchronization. In the
    warm-up, ``labeled_loss`` is the CE loss on all samples and the others are zero, so every
    iteration has the same keys.

    Examples:
        >>> import torch
        >>> from types import SimpleNamespace
        >>> from accelerate import Accelerator
        >>> nets = [torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)]
        >>> opts = [torch.optim.SGD(n.parameters(), lr=0.1) for n in nets]
        >>> division = SimpleNamespace(clean_prob=torch.full((2, 16), 0.9), threshold=0.5)
        >>> step = DivideMixStep(nets, opts, Accelerator(cpu=True), division=division,
        ...                      num_classes=3, warmup_epochs=1, lambda_u=25.0)
        >>> part = lambda i: {"x": torch.randn(4, 4), "x2": torch.randn(4, 4),
        ...                   "y": torch.randint(0, 3, (4,)), "index": torch.arange(i, i + 4)}
        >>> batch = {n: {"labeled": part(0), "unlabeled": part(4)} for n in ("a", "b")}
        >>> engine = SimpleNamespace(state=SimpleNamespace(epoch=2, iteration=1, epoch_length=10))
        >>> sorted(step(engine, batch))
        ['labeled_loss', 'loss', 'prior_penalty', 'unlabeled_loss', 'unlabeled_weight']
    """

    def __init__(
        self,
        models: Sequence[torch.nn.Module],
        optimizers: Sequence[torch.optim.Optimizer],
        accelerator,
        *,
        division,
        num_classes: int,
        warmup_epochs: int,
        lambda_u: float,
        temperature: float = 0.5,
        alpha: float = 4.0,
        rampup_epochs: float = 16.0,
        confidence_penalty: bool = False,
        prior_penalty: bool = True,
        labeled_only: bool = False,
        alternate: str = "iteration",
        targets: Callable[[dict], torch.Tensor] | None = None,
        switched: Sequence[str] = ("labeled",),
    ) -> None:
        if len(models) != 2 or len(optimizers) != 2:
            raise ValueError(f"DivideMix trains two networks, got {len(models)} models and "
                             f"{len(optimizers)} optimizers")
        unknown = sorted(set(switched) - set(SWITCHABLE_TARGETS))
        if unknown:
            raise ValueError(f"unknown switched targets {unknown}: expected some of "
                             f"{SWITCHABLE_TARGETS}")
        if not 0.0 < temperature <= 1.0:
            raise ValueError(f"temperature must lie in (0, 1], got {temperature}")
        if alpha <= 0:
            raise ValueError(f"alpha must be positive, got {alpha}")
        if alternate not in ("iteration", "epoch"):
            raise ValueError(f"alternate must be 'iteration' or 'epoch', got {alternate!r}")
        self.labeled_only, self.alternate = bool(labeled_only), alternate
        self.models, self.optimizers = list(models), list(optimizers)
        # Plain modules for the no-grad passes: no DDP buffer broadcast per extra forward.
        self.plain = [getattr(m, "module", m) for m in self.models]
        self.accelerator, self.division = accelerator, division
        self.num_classes, self.warmup_epochs = int(num_classes), int(warmup_epochs)
        self.lambda_u, self.temperature = float(lambda_u), float(temperature)
        self.alpha = float(alpha)
        self.rampup_epochs = float(rampup_epochs)
        self.prior_penalty = prior_penalty
        self.targets = targets
        self.switched = frozenset(switched) if targets is not None else frozenset()
        extra = (lambda logits, batch: negative_entropy(logits)) if confidence_penalty else None
        warm_targets = targets if "warmup" in self.switched else None
        self.warmup_steps = [
            SupervisedStep(m, o, accelerator, targets=warm_targets, extra_loss=extra)
            for m, o in zip(self.models, self.optimizers)
        ]

    def __call__(self, engine, batch: dict) -> dict:
        batch = move_batch(batch, self.accelerator.device)
        state = engine.state
        position = (state.iteration - 1) % state.epoch_length
        if self.alternate == "epoch":  # one network's batch: A's phase, then B's
            turns = [(int(2 * position >= state.epoch_length), batch)]
        else:
            turns = [(0, batch["a"]), (1, batch["b"])]
        if state.epoch <= self.warmup_epochs:
            loss = torch.stack([self.warmup_steps[k](engine, _join(part))["loss"]
                                for k, part in turns]).mean()
            zero = loss.new_zeros(())
            return {"loss": loss, "labeled_loss": loss, "unlabeled_loss": zero,
                    "prior_penalty": zero, "unlabeled_weight": zero}
        # DivideMix's ramp-up position: epochs from 0 plus the fraction of this epoch done
        # (of the network's own phase, under per-epoch alternation).
        if self.alternate == "epoch":
            phase = state.epoch_length // 2
            done = (position % phase) / phase
        else:
            done = position / state.epoch_length
        progress = state.epoch - 1 + done
        weight = self.lambda_u * linear_rampup(progress, self.warmup_epochs, self.rampup_epochs)
        parts = [self._train(k, part, weight) for k, part in turns]
        out = {key: torch.stack([p[key] for p in parts]).mean() for key in parts[0]}
        # A fill kernel, not a host-to-device copy (which would synchronize the stream).
        out["unlabeled_weight"] = out["loss"].new_full((), weight)
        return out

    def _train(self, k: int, part: dict, weight: float) -> dict:
        net, plain, other = self.models[k], self.plain[k], self.plain[1 - k]
        labeled, unlabeled = part["labeled"], part["unlabeled"]
        w = self.division.clean_prob[1 - k].to(labeled["x"].device)[labeled["index"]]
        y = self.targets(labeled) if "labeled" in self.switched else labeled["y"]
        net.train()
        other.eval()
        with torch.no_grad(), self.accelerator.autocast():
            u1, u2 = unlabeled["x"], unlabeled["x2"]
            guess_other = torch.softmax(other(torch.cat([u1, u2])).float(), dim=1).chunk(2)
            guess = co_guess(torch.softmax(plain(u1).float(), dim=1),
                             torch.softmax(plain(u2).float(), dim=1), *guess_other)
            if "unlabeled" in self.switched:
                targets_u = self._one_hot(self.targets(unlabeled))
            else:
                targets_u = sharpen(guess, self.temperature)
            px = (torch.softmax(plain(labeled["x"]).float(), dim=1)
                  + torch.softmax(plain(labeled["x2"]).float(), dim=1)) / 2
            targets_x = sharpen(refine_labels(self._one_hot(y), px, w), self.temperature)
        inputs = torch.cat([labeled["x"], labeled["x2"], u1, u2])
        all_targets = torch.cat([targets_x, targets_x, targets_u, targets_u])
        mixed_inputs, mixed_targets, _ = mixup(inputs, all_targets, self.alpha)
        n_labeled = 2 * labeled["x"].shape[0]
        if self.labeled_only:
            # DivideMix's Clothing1M/WebVision code: only the labeled rows are trained.
            mixed_inputs, mixed_targets = mixed_inputs[:n_labeled], mixed_targets[:n_labeled]
        with self.accelerator.autocast():
            logits = net(mixed_inputs).float()
        loss_x = soft_cross_entropy(logits[:n_labeled], mixed_targets[:n_labeled]).mean()
        loss_u = (logits.new_zeros(()) if self.labeled_only
                  else probability_mse(logits[n_labeled:], mixed_targets[n_labeled:]).mean())
        penalty = uniform_prior_penalty(logits) if self.prior_penalty else logits.new_zeros(())
        loss = loss_x + weight * loss_u + penalty
        self.optimizers[k].zero_grad(set_to_none=True)
        self.accelerator.backward(loss)
        self.optimizers[k].step()
        return {"loss": loss.detach(), "labeled_loss": loss_x.detach(),
                "unlabeled_loss": loss_u.detach(), "prior_penalty": penalty.detach()}

    def _one_hot(self, y: torch.Tensor) -> torch.Tensor:
        # A scatter, not F.one_hot: off CUDA, one_hot checks the class range by reading the
        # labels' min and max back to the host.
        return torch.zeros(len(y), self.num_classes, device=y.device).scatter_(1, y[:, None], 1.0)

    @torch.no_grad()
    def target_distribution(self, engine, batch: dict, logits: torch.Tensor) -> torch.Tensor:
        """The distribution network A trains each sample toward this epoch, before mixup.

        For the gradient-bias probe (:class:`~ignoise.handlers.GradientBias`): ``logits`` are
        network A's outputs on the batch's single (evaluation) view. Warm-up: the one-hot CE
        target. Afterwards: the refined target where B's division calls the sample clean, else
        the co-guess of both networks on that view (or the drawn direction, as in training).
        """
        y = self.targets(batch) if "warmup" in self.switched or "labeled" in self.switched else None
        given = batch["y"]
        if engine.state.epoch <= self.warmup_epochs:
            return self._one_hot(y if "warmup" in self.switched else given)
        p = torch.softmax(logits.float(), dim=1)
        other = self.plain[1]
        was_training = other.training
        other.eval()
        with self.accelerator.autocast():
            p_other = torch.softmax(other(batch["x"]).float(), dim=1)
        other.train(was_training)
        w = self.division.clean_prob[1].to(p.device)[batch["index"]]
        refined = refine_labels(self._one_hot(y if "labeled" in self.switched else given), p, w)
        targets_x = sharpen(refined, self.temperature)
        if "unlabeled" in self.switched:
            targets_u = self._one_hot(y)
        else:
            targets_u = sharpen(co_guess(p, p_other), self.temperature)
        labeled = (w > self.division.threshold).unsqueeze(1)
        return torch.where(labeled, targets_x, targets_u)


def _join(part: dict) -> dict:
    """A network's labeled and unlabeled halves as one warm-up batch."""
    labeled, unlabeled = part["labeled"], part["unlabeled"]
    return {key: torch.cat([labeled[key], unlabeled[key]]) for key in labeled if key != "x2"}
