"""Gradient bias: how far the final-layer gradients that mislabeled samples receive drift, summed
over epochs, from the gradients their clean labels would give."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable

import ignite.distributed as idist
import torch
import torch.nn.functional as F
from ignite.engine import Engine, Events

from ..data import move_batch

__all__ = [
    "GradientBias", "final_layer_gradient", "gradient_deviation", "final_linear",
    "given_label_distribution", "drawn_label_distribution", "screened_distribution",
]

TargetDistribution = Callable[[Engine, dict, torch.Tensor], torch.Tensor]


def final_layer_gradient(logits: torch.Tensor, targets: torch.Tensor,
                         features: torch.Tensor) -> torch.Tensor:
    """Per-sample gradient of softmax cross-entropy against target distributions with respect
    to the weight of the final linear layer ``z = W h + b``: ``(softmax(z) - q) h^T``.

    Args:
        logits: ``(B, K)``; targets: ``(B, K)`` rows summing to one; features: ``(B, D)``, the
            layer's input ``h``.

    Returns:
        ``(B, K, D)``.

    Examples:
        >>> import torch
        >>> q = torch.tensor([[1.0, 0.0]])
        >>> g = final_layer_gradient(torch.zeros(1, 2), q, torch.ones(1, 3))
        >>> g[0].tolist()
        [[-0.5, -0.5, -0.5], [0.5, 0.5, 0.5]]
    """
    weights = torch.softmax(logits.float(), dim=1) - targets
    return torch.einsum("bk,bd->bkd", weights, features.float())


def gradient_deviation(targets: torch.Tensor, clean: torch.Tensor,
                       features: torch.Tensor) -> torch.Tensor:
    """The final-layer gradient for target ``q`` minus the one for the clean label ``y``:
    ``(p - q) h^T - (p - e_y) h^T = (e_y - q) h^T``. The prediction cancels, so the deviation
    depends only on the direction weights and the features.

    Args:
        targets: ``(B, K)`` the target distributions used; clean: ``(B,)`` clean labels;
            features: ``(B, D)``.

    Returns:
        ``(B, K, D)``.

    Examples:
        >>> import torch
        >>> d = gradient_deviation(torch.tensor([[0.0, 1.0]]), torch.tensor([0]), torch.ones(1, 1))
        >>> d.flatten().tolist()
        [1.0, -1.0]
    """
    direction = F.one_hot(clean, targets.shape[1]).float() - targets.float()
    return torch.einsum("bk,bd->bkd", direction, features.float())


def final_linear(model: torch.nn.Module) -> torch.nn.Linear:
    """The last ``nn.Linear`` of ``model`` (the classifier of every ignoise model)."""
    model = getattr(model, "module", model)
    layers = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    if not layers:
        raise ValueError(f"{type(model).__name__} has no nn.Linear layer to probe")
    return layers[-1]


def given_label_distribution(engine: Engine, batch: dict, logits: torch.Tensor) -> torch.Tensor:
    """Cross-entropy on the given labels (the poster's "original"): one-hot ``y``."""
    return F.one_hot(batch["y"], logits.shape[1]).float()


def drawn_label_distribution(pool) -> TargetDistribution:
    """GSS: the one-hot target drawn from a :class:`~ignoise.handlers.DirectionPool`."""

    def distribution(engine: Engine, batch: dict, logits: torch.Tensor) -> torch.Tensor:
        return F.one_hot(pool.draw_targets(batch).to(logits.device), logits.shape[1]).float()

    return distribution


def screened_distribution(keep: Callable[[dict], torch.Tensor]) -> TargetDistribution:
    """Sample screening: kept samples train on their given label; a dropped sample gets no
    gradient, which is the same as a target equal to its own prediction (``q = p``).

    Args:
        keep: ``batch -> (B,)`` mask of the samples the method trains on.
    """

    def distribution(engine: Engine, batch: dict, logits: torch.Tensor) -> torch.Tensor:
        given = F.one_hot(batch["y"], logits.shape[1]).float()
        kept = keep(batch).to(logits.device).unsqueeze(1)
        return torch.where(kept, given, torch.softmax(logits.float(), dim=1))

    return distribution


class GradientBias:
    """Accumulates, per tracked sample, the deviation of its final-layer gradient from the
    clean-label gradient over epochs, and reports its size.

    At the start of epoch ``e`` (after the handlers that fix the epoch's targets: co-divide,
    direction pool), the probe runs the model in eval mode over the training set, reads each
    sample's final-layer input ``h`` and logits, asks ``targets`` for the distribution ``q``
    the method trains it toward in this epoch, and adds ``mu_e (e_y - q) h^T`` (``mu_e`` the
    epoch's learning rate) to the sample's accumulator ``A_i`` (``K x D``). It then records

    - ``bias``: the mean over tracked samples of ``||A_i||_F``, the norm of the *summed*
      deviation (the poster's ``|sum_e (d_y~e - d_y)|`` with ``mu a`` inside the sum);
    - ``consistency``: the mean of ``||A_i||_F / sum_e ||mu_e (e_y - q) h^T||_F`` — 1 when a
      sample is pushed the same wrong way every epoch (continuous damage), near 0 when its
      deviations cancel;
    - ``aggregate_bias``: ``||sum_i A_i||_F / n``, the first-order drift of the final layer's
      weights caused by the tracked samples' labels.

    Snapshot features and one evaluation view stand in for the epoch's training passes: the
    deviation formula is exact for the final layer, the per-epoch features are a snapshot. The
    probe restores the global random generators after its pass, so a probed run trains exactly
    like an unprobed one (with ``redraw="iteration"`` a direction pool's own generator still
    advances when the probe draws).

    Args:
        model: the probed network (prepared or not; the plain module is used).
        loader: rank-split, unpadded loader over the training set with the evaluation
            transform; batches must carry ``y_clean``.
        targets: ``(engine, batch, logits) -> (B, K)`` the method's target distribution
            (:func:`given_label_distribution`, :func:`screened_distribution`,
            :func:`drawn_label_distribution`, ``DivideMixStep.target_distribution``).
        optimizer: whose first group's learning rate is ``mu_e``.
        given_targets, clean_targets: ``(N,)`` labels; tracked samples are those whose given
            label is wrong (or all samples with ``mislabeled_only=False``).
        max_tracked: track at most this many (a seeded random subset), bounding the
            ``n x K x D`` accumulators.
        accelerator: for autocast; device: where the accumulators live.

    Examples:
        >>> import torch
        >>> from ignoise.data import eval_transform, load_digits_dataset, make_eval_loader
        >>> from types import SimpleNamespace
        >>> data = load_digits_dataset(transform=eval_transform("digits"))
        >>> noisy = (torch.as_tensor(data.targets) + (torch.arange(len(data)) % 2)) % 10
        >>> data = data.with_targets(noisy.numpy())
        >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
        >>> probe = GradientBias(net, make_eval_loader(data, 512), given_label_distribution,
        ...                      optimizer=torch.optim.SGD(net.parameters(), lr=0.1),
        ...                      given_targets=data.targets, clean_targets=data.clean_targets)
        >>> probe(SimpleNamespace(state=SimpleNamespace(epoch=1)))
        >>> probe(SimpleNamespace(state=SimpleNamespace(epoch=2)))
        >>> round(probe.rows[-1]["consistency"], 6)  # CE pushes the same wrong way each epoch
        1.0
    """

    def __init__(
        self,
        model: torch.nn.Module,
        loader: Iterable,
        targets: TargetDistribution,
        *,
        optimizer: torch.optim.Optimizer,
        given_targets,
        clean_targets,
        mislabeled_only: bool = True,
        max_tracked: int = 1000,
        seed: int = 0,
        accelerator=None,
        device: torch.device | str | None = None,
    ) -> None:
        if clean_targets is None:
            raise ValueError("gradient bias needs the clean labels (y_clean): this dataset has "
                             "none")
        self.model = getattr(model, "module", model)
        self.layer = final_linear(self.model)
        self.loader, self.targets, self.optimizer = loader, targets, optimizer
        self.accelerator = accelerator
        self.device = torch.device(device or (accelerator.device if accelerator else "cpu"))
        given = torch.as_tensor(given_targets, dtype=torch.long)
        clean = torch.as_tensor(clean_targets, dtype=torch.long)
        candidates = torch.arange(len(given))
        if mislabeled_only:
            candidates = candidates[given != clean]
        if candidates.numel() == 0:
            raise ValueError("no mislabeled sample to track: the gradient bias needs label noise")
        g = torch.Generator().manual_seed(seed)
        order = torch.randperm(candidates.numel(), generator=g)[:max_tracked]
        chosen = candidates[order].sort().values
        self.tracked = chosen.to(self.device)
        self.slot = torch.full((len(given),), -1, dtype=torch.long)
        self.slot[chosen] = torch.arange(chosen.numel())
        self.slot = self.slot.to(self.device)
        self.num_classes = self.layer.out_features
        n, k, d = chosen.numel(), self.layer.out_features, self.layer.in_features
        self.accumulated = torch.zeros(n, k, d, device=self.device)
        self.path_length = torch.zeros(n, device=self.device)
        self.rows: list[dict] = []

    def attach(self, trainer: Engine) -> None:
        """Probe at ``EPOCH_STARTED``; attach it after the handlers that set the epoch's
        targets (co-divide, direction pool)."""
        trainer.add_event_handler(Events.EPOCH_STARTED, self)

    @torch.no_grad()
    def __call__(self, engine: Engine) -> None:
        lr = float(self.optimizer.param_groups[0]["lr"])
        n = self.tracked.numel()
        # Row n collects the untracked samples of each batch and is dropped.
        direction = torch.zeros(n + 1, self.num_classes, device=self.device)
        features = torch.zeros(n + 1, self.layer.in_features, device=self.device)
        captured = {}
        hook = self.layer.register_forward_pre_hook(lambda mod, args: captured.update(h=args[0]))
        was_training = self.model.training
        self.model.eval()
        autocast = self.accelerator.autocast if self.accelerator else contextlib.nullcontext
        # Iterating a DataLoader draws from the global generator: restore it afterwards so that
        # probing does not change the run it measures.
        devices = [self.device] if self.device.type == "cuda" else []
        try:
            with torch.random.fork_rng(devices=devices):
                for batch in self.loader:
                    batch = move_batch(batch, self.device)
                    with autocast():
                        logits = self.model(batch["x"]).float()
                    slot = self.slot[batch["index"]]
                    rows = torch.where(slot >= 0, slot, torch.full_like(slot, n))
                    q = self.targets(engine, batch, logits)
                    clean = F.one_hot(batch["y_clean"], self.num_classes).float()
                    direction.index_copy_(0, rows, clean - q)
                    features.index_copy_(0, rows, captured["h"].float())
        finally:
            hook.remove()
            self.model.train(was_training)
        direction, features = direction[:n], features[:n]
        direction, features = idist.all_reduce(direction), idist.all_reduce(features)
        self.accumulated += lr * torch.einsum("tk,td->tkd", direction, features)
        self.path_length += lr * direction.norm(dim=1) * features.norm(dim=1)
        self.rows.append(self.figures(engine.state.epoch))

    def figures(self, epoch: int) -> dict:
        """The figures after ``epoch`` probed epochs (see the class docstring)."""
        norms = self.accumulated.flatten(1).norm(dim=1)
        consistency = norms / self.path_length.clamp_min(1e-12)
        return {
            "epoch": int(epoch),
            "bias": float(norms.mean()),
            "consistency": float(consistency.mean()),
            "aggregate_bias": float(self.accumulated.sum(dim=0).norm() / norms.numel()),
            "tracked": int(norms.numel()),
        }

    def state_dict(self) -> dict:
        return {"accumulated": self.accumulated.cpu(), "path_length": self.path_length.cpu(),
                "rows": [dict(r) for r in self.rows]}

    def load_state_dict(self, state: dict) -> None:
        self.accumulated = state["accumulated"].to(self.device)
        self.path_length = state["path_length"].to(self.device)
        self.rows = [dict(r) for r in state["rows"]]
