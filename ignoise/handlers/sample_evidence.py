"""Per-sample evidence about label quality, recorded by every run: how each training sample's
given label fares under the run's prediction, epoch after epoch, plus the method's own signals.
``python -m ignoise label-issues`` ranks suspected mislabels from it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from ignite.engine import Engine, Events

from .training_set_predictions import predict_training_set

__all__ = ["SampleEvidence"]


class SampleEvidence:
    """At the end of every epoch, predicts the whole training set (evaluation mode, no
    augmentation) and updates, per sample, running summaries of

    - the cross-entropy of the prediction against the given label (mean over epochs, last);
    - the margin ``log p[given] - max_{k != given} log p[k]`` (mean over epochs: the area under
      the margin of Pleiss et al., 2020, here of the evaluation prediction; last);
    - the last predicted distribution (``probs``).

    Memory is O(N K); nothing runs per iteration. Each rank predicts its share of the training
    set and the shares are summed, so every rank holds the same evidence (it is checkpointed).
    ``signals`` adds the method's own per-sample evidence, read when the evidence is saved
    (DivideMix's clean probability, GAL's joint prediction, GSS's drawn target, ...).

    Args:
        predict: ``x -> (B, K)`` class probabilities (the run's reported predictor).
        loader: the training set in a fixed order without augmentation, rank-split.
        given: ``(N,)`` the labels the run trains on.
        num_classes: ``K``.
        accelerator: the run's Accelerator.
        models: modules to put in evaluation mode for the pass.
        clean: ``(N,)`` clean labels where known (saved alongside, for diagnostics only).
        signals: name -> ``() -> (N,)`` tensor, saved as they are at the end.

    Examples:
        >>> from accelerate import Accelerator
        >>> batch = {"x": torch.tensor([[2.0, 0.0], [0.0, 2.0]]), "index": torch.arange(2)}
        >>> evidence = SampleEvidence(lambda x: x.softmax(1), [batch], torch.tensor([0, 0]), 2,
        ...                           Accelerator(cpu=True))
        >>> evidence.record()
        >>> [round(m, 3) for m in evidence.arrays()["margin_last"].tolist()]
        [2.0, -2.0]
    """

    def __init__(
        self,
        predict: Callable[[torch.Tensor], torch.Tensor],
        loader: Iterable,
        given: Sequence[int] | np.ndarray | torch.Tensor,
        num_classes: int,
        accelerator,
        *,
        models: Sequence[torch.nn.Module] = (),
        clean: Sequence[int] | np.ndarray | None = None,
        signals: dict[str, Callable[[], torch.Tensor]] | None = None,
    ) -> None:
        self.predict, self.loader, self.accelerator = predict, loader, accelerator
        self.models = list(models)
        device = accelerator.device
        self.given = torch.as_tensor(np.asarray(given), dtype=torch.long, device=device)
        self.clean = None if clean is None else np.asarray(clean, dtype=np.int64)
        self.num_classes = int(num_classes)
        self.signals = dict(signals or {})
        n = len(self.given)
        self.probs = torch.full((n, self.num_classes), 1.0 / self.num_classes, device=device)
        self.loss_sum = torch.zeros(n, device=device)
        self.margin_sum = torch.zeros(n, device=device)
        self.loss_last = torch.zeros(n, device=device)
        self.margin_last = torch.zeros(n, device=device)
        self.epochs = 0

    def attach(self, trainer: Engine) -> None:
        trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda _: self.record())

    @torch.no_grad()
    def record(self) -> None:
        """One pass over the training set; updates the summaries."""
        probs = predict_training_set(self.predict, self.loader, len(self.given),
                                     self.num_classes, self.accelerator, models=self.models)
        log_p = probs.clamp_min(1e-12).log()
        given = log_p.gather(1, self.given.unsqueeze(1)).squeeze(1)
        others = log_p.scatter(1, self.given.unsqueeze(1), float("-inf")).amax(dim=1)
        self.probs, self.loss_last, self.margin_last = probs, -given, given - others
        self.loss_sum += self.loss_last
        self.margin_sum += self.margin_last
        self.epochs += 1

    def arrays(self) -> dict[str, np.ndarray]:
        """The evidence as NumPy arrays (the keys of ``evidence.npz``)."""
        epochs = max(self.epochs, 1)
        out = {
            "given_label": self.given.cpu().numpy(),
            "probs": self.probs.float().cpu().numpy(),
            "loss_mean": (self.loss_sum / epochs).cpu().numpy(),
            "loss_last": self.loss_last.cpu().numpy(),
            "margin_mean": (self.margin_sum / epochs).cpu().numpy(),
            "margin_last": self.margin_last.cpu().numpy(),
            "epochs": np.int64(self.epochs),
        }
        if self.clean is not None:
            out["clean_label"] = self.clean
        for name, signal in self.signals.items():
            out[name] = torch.as_tensor(signal()).detach().cpu().numpy()
        return out

    def save(self, path: str | Path, method: str) -> Path:
        """Write ``evidence.npz`` (call on the main process)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, method=np.str_(method), **self.arrays())
        return path

    def state_dict(self) -> dict:
        return {"probs": self.probs.cpu(), "loss_sum": self.loss_sum.cpu(),
                "margin_sum": self.margin_sum.cpu(), "loss_last": self.loss_last.cpu(),
                "margin_last": self.margin_last.cpu(), "epochs": self.epochs}

    def load_state_dict(self, state: dict) -> None:
        device = self.accelerator.device
        for key in ("probs", "loss_sum", "margin_sum", "loss_last", "margin_last"):
            setattr(self, key, state[key].to(device))
        self.epochs = int(state["epochs"])
