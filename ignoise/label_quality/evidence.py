"""A finished run's per-sample evidence (``RUN_DIR/evidence.npz``), read and checked.

Every run writes ``evidence.npz`` (:class:`ignoise.handlers.SampleEvidence`): for each training
sample ``i`` (row ``i`` is the dataset index), the label the run trained on, the run's predicted
class probabilities after its last epoch, the cross-entropy and margin of that prediction
against the given label (mean over the recorded epochs and at the last one), and the method's
own signals where it has them. :func:`load_evidence` reads the file and checks every array at
once, so the rankings can trust it; :meth:`Evidence.from_predictions` builds the same from a
predictor of your own.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

__all__ = ["EVIDENCE_FILE", "Evidence", "EvidenceError", "load_evidence", "evidence_path",
           "SIGNALS"]

EVIDENCE_FILE = "evidence.npz"
#: The optional per-sample signals of some methods, and what they hold.
SIGNALS = {
    "clean_prob": "the GMM's probability that the label is clean (DivideMix, GSS-SSL, screening)",
    "joint_prob_given": "the joint A+B prediction's probability of the given label (GAL)",
    "joint_label": "the joint A+B prediction's class (GAL)",
    "switched_label": "the target drawn from the direction pool last epoch (GSS)",
}
_PER_SAMPLE_FLOATS = ("loss_mean", "loss_last", "margin_mean", "margin_last")
_REQUIRED = ("given_label", "probs", *_PER_SAMPLE_FLOATS, "epochs", "method")
_LABELS = ("clean_label", "joint_label", "switched_label")
_PROBABILITIES = ("clean_prob", "joint_prob_given")
# Probabilities are float32 softmax outputs (or a mean of two): rows sum to 1 up to rounding.
_SUM_TOLERANCE = 1e-3


class EvidenceError(ValueError):
    """Evidence that cannot be used as asked: a bad array, a missing key, a score the file
    cannot give, or a training set that no longer matches the run's labels."""


@dataclass(eq=False)
class Evidence:
    """The per-sample evidence of one run; checked when built.

    Attributes:
        given_label: ``(N,)`` int64, the labels the run trained on (possibly noisy).
        probs: ``(N, K)`` float32, the run's predicted class probabilities after its last epoch
            (in-sample: the networks trained on these samples).
        loss_mean, loss_last: ``(N,)`` cross-entropy of the prediction against ``given_label``,
            mean over the recorded epochs and at the last one.
        margin_mean, margin_last: ``(N,)`` ``log p[given] - max_{k != given} log p[k]``, mean
            over the epochs (the area under the margin) and at the last one.
        epochs: the number of epochs recorded.
        method: the method's name, as in ``results.json``.
        clean_label: ``(N,)`` the clean labels where known (synthetic noise, CIFAR-N), else None.
        clean_prob, joint_prob_given, joint_label, switched_label: the method's own signals
            (:data:`SIGNALS`), None where the method has none.
        extra: other ``(N,)`` arrays of the file, by key (kept as table columns).
        source: where the evidence came from (named in error messages).

    Raises:
        EvidenceError: an array of the wrong shape or type, labels outside ``[0, K)``, arrays
            of different lengths, probabilities outside ``[0, 1]`` or rows not summing to 1,
            non-finite values, or no epoch recorded.

    Examples:
        >>> import numpy as np
        >>> ev = Evidence.from_predictions([0, 1], [[0.9, 0.1], [0.8, 0.2]])
        >>> ev.num_samples, ev.num_classes, [round(float(p), 2) for p in ev.p_given]
        (2, 2, [0.9, 0.2])
    """

    given_label: np.ndarray
    probs: np.ndarray
    loss_mean: np.ndarray
    loss_last: np.ndarray
    margin_mean: np.ndarray
    margin_last: np.ndarray
    epochs: int
    method: str
    clean_label: np.ndarray | None = None
    clean_prob: np.ndarray | None = None
    joint_prob_given: np.ndarray | None = None
    joint_label: np.ndarray | None = None
    switched_label: np.ndarray | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    source: str = "evidence"

    def __post_init__(self) -> None:
        self._check()

    @classmethod
    def from_predictions(cls, given_label, probs, *, clean_label=None, method: str = "custom",
                         source: str = "predictions", **signals) -> Evidence:
        """Evidence of one prediction: loss and margin of ``probs`` (mean = last, one epoch).

        For rankings of a predictor of your own (e.g. cross-validated probabilities).

        Args:
            given_label: ``(N,)`` the given labels.
            probs: ``(N, K)`` predicted class probabilities.
            clean_label: ``(N,)`` clean labels where known.
            method: a name for the tables.
            source: named in error messages.
            **signals: optional signals of :data:`SIGNALS`.
        """
        given = np.asarray(given_label)
        p = np.asarray(probs, dtype=np.float32)
        if p.ndim == 2 and given.ndim == 1 and len(given) == len(p) and \
                np.issubdtype(given.dtype, np.integer) and given.size and \
                0 <= given.min() and given.max() < p.shape[1]:
            log_p = np.log(np.clip(p.astype(np.float64), 1e-12, None))
            rows = np.arange(len(given))
            own = log_p[rows, given]
            log_p[rows, given] = -np.inf
            loss, margin = (-own).astype(np.float32), (own - log_p.max(1)).astype(np.float32)
        else:  # let the checks name what is wrong
            loss = margin = np.zeros(len(given), dtype=np.float32)
        return cls(given, p, loss, loss.copy(), margin, margin.copy(), 1, method,
                   clean_label=clean_label, source=source, **signals)

    @property
    def num_samples(self) -> int:
        return len(self.given_label)

    @property
    def num_classes(self) -> int:
        return self.probs.shape[1]

    @property
    def p_given(self) -> np.ndarray:
        """``(N,)`` the predicted probability of each sample's given label."""
        return self.probs[np.arange(self.num_samples), self.given_label]

    @property
    def corrupted(self) -> np.ndarray | None:
        """``(N,)`` bool, ``given_label != clean_label``; None where the clean labels are
        unknown."""
        return None if self.clean_label is None else self.given_label != self.clean_label

    @property
    def signals(self) -> list[str]:
        """The names of the method signals present, in the order of :data:`SIGNALS`."""
        return [name for name in SIGNALS if getattr(self, name) is not None]

    def _error(self, message: str) -> EvidenceError:
        return EvidenceError(f"{self.source}: {message}")

    def _check(self) -> None:
        given = np.asarray(self.given_label)
        if given.ndim != 1 or not given.size:
            raise self._error(f"given_label must be a non-empty 1-D array, got shape "
                              f"{given.shape}")
        n = len(given)
        probs = np.asarray(self.probs)
        if probs.ndim != 2 or probs.shape[1] < 2:
            raise self._error(f"probs must have shape (N, K) with K >= 2 classes, got shape "
                              f"{probs.shape}")
        if len(probs) != n:
            raise self._error(f"probs has {len(probs)} rows but given_label has {n}: expected "
                              "one row per training sample")
        if not np.issubdtype(probs.dtype, np.floating):
            raise self._error(f"probs must be floats, got dtype {probs.dtype}")
        self.probs = self._finite("probs", probs)
        k = probs.shape[1]
        if (probs < -1e-6).any() or (probs > 1 + 1e-6).any():
            i = int(np.flatnonzero(((probs < -1e-6) | (probs > 1 + 1e-6)).any(1))[0])
            raise self._error(f"probs[{i}] = {probs[i].tolist()} is not a distribution: "
                              "expected probabilities in [0, 1] (softmax outputs, not logits)")
        sums = probs.sum(1, dtype=np.float64)
        bad = np.abs(sums - 1) > _SUM_TOLERANCE
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise self._error(f"probs[{i}] sums to {sums[i]:.6g}: expected every row to sum "
                              "to 1 (softmax outputs)")
        self.given_label = self._labels("given_label", given, n, k)
        for name in _PER_SAMPLE_FLOATS:
            setattr(self, name, self._floats(name, getattr(self, name), n))
        for name in _LABELS:
            if getattr(self, name) is not None:
                setattr(self, name, self._labels(name, getattr(self, name), n, k))
        for name in _PROBABILITIES:
            if getattr(self, name) is not None:
                values = self._floats(name, getattr(self, name), n)
                outside = (values < -1e-6) | (values > 1 + 1e-6)
                if outside.any():
                    i = int(np.flatnonzero(outside)[0])
                    raise self._error(f"{name}[{i}] = {values[i]:.6g} is not a probability: "
                                      "expected a value in [0, 1]")
                setattr(self, name, values)
        epochs = np.asarray(self.epochs)
        if epochs.ndim != 0 or not np.issubdtype(epochs.dtype, np.integer) or epochs < 1:
            raise self._error(f"epochs = {_shown(epochs)}: expected a positive integer (the "
                              "number of epochs recorded)")
        self.epochs = int(epochs)
        method = np.asarray(self.method)
        if method.ndim != 0 or method.dtype.kind != "U":
            raise self._error(f"method = {_shown(method)}: expected a string")
        self.method = str(method)
        for name, values in list(self.extra.items()):
            values = np.asarray(values)
            if values.shape != (n,):
                raise self._error(f"{name} has shape {values.shape}: expected ({n},), one "
                                  "value per training sample")
            self.extra[name] = values

    def _finite(self, name: str, values: np.ndarray) -> np.ndarray:
        bad = ~np.isfinite(values)
        if bad.any():
            i = np.argwhere(bad)[0]
            where = ", ".join(str(int(j)) for j in i)
            raise self._error(f"{name}[{where}] = {values[tuple(i)]}: expected finite values "
                              "(did the run diverge?)")
        return values

    def _floats(self, name: str, values, n: int) -> np.ndarray:
        values = np.asarray(values)
        if values.shape != (n,):
            raise self._error(f"{name} has shape {values.shape}: expected ({n},), one value per "
                              "training sample")
        if not (np.issubdtype(values.dtype, np.floating)
                or np.issubdtype(values.dtype, np.integer)):
            raise self._error(f"{name} must be numbers, got dtype {values.dtype}")
        return self._finite(name, values)

    def _labels(self, name: str, values, n: int, k: int) -> np.ndarray:
        values = np.asarray(values)
        if values.shape != (n,):
            raise self._error(f"{name} has shape {values.shape}: expected ({n},), one label per "
                              "training sample")
        if not np.issubdtype(values.dtype, np.integer):
            raise self._error(f"{name} must be integers, got dtype {values.dtype}")
        bad = (values < 0) | (values >= k)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise self._error(f"{name}[{i}] = {int(values[i])} is out of range: expected a "
                              f"class in [0, {k}) (probs has {k} columns)")
        return values.astype(np.int64)


def _shown(value: np.ndarray) -> str:
    """A scalar as its value, an array by its shape."""
    return repr(value.tolist()) if value.ndim == 0 else f"an array of shape {value.shape}"


def evidence_path(run_dir_or_file: str | Path) -> Path:
    """``RUN_DIR/evidence.npz`` for a run folder, or the path itself for a ``.npz`` file.

    Raises:
        FileNotFoundError: the folder or file does not exist, or the folder has no evidence
            (naming what the folder does hold: an unfinished run, or one finished by a version
            of ignoise that recorded none).
    """
    path = Path(run_dir_or_file)
    if path.suffix == ".npz" or path.is_file():
        if not path.is_file():
            raise FileNotFoundError(f"evidence file {path} does not exist")
        return path
    if not path.is_dir():
        raise FileNotFoundError(f"run folder {path} does not exist: expected the --output-dir "
                                f"of a finished run, holding {EVIDENCE_FILE}")
    file = path / EVIDENCE_FILE
    if file.is_file():
        return file
    if (path / "results.json").is_file():
        why = ("its run finished without recording evidence: the run must be finished by a "
               "version of ignoise that records per-sample evidence (run it again)")
    elif (path / "checkpoints").is_dir() or (path / "run.json").is_file():
        why = ("the run has not finished (evidence.npz is written at its end): resume it "
               "with --resume, or wait for it")
    else:
        why = ("it does not look like a run folder: expected the --output-dir of a run finished "
               "by a version of ignoise that records per-sample evidence")
    raise FileNotFoundError(f"{file} does not exist: {why}")


def load_evidence(path: str | Path) -> Evidence:
    """Read and check ``evidence.npz`` (a run folder, or the file itself).

    Args:
        path: a run folder (``--output-dir`` of a finished run) or an ``.npz`` file.

    Returns:
        The checked :class:`Evidence`; arrays of the file that it does not know and that hold
        one value per sample are kept in ``extra``.

    Raises:
        FileNotFoundError: see :func:`evidence_path`.
        EvidenceError: the file is not a readable ``.npz``, lacks a required key (naming them
            all), or holds a bad array (naming the file and the key).

    Examples:
        >>> import numpy as np, tempfile, os
        >>> folder = tempfile.mkdtemp()
        >>> np.savez(os.path.join(folder, "evidence.npz"), given_label=np.array([0, 1]),
        ...          probs=np.array([[0.9, 0.1], [0.3, 0.7]], np.float32),
        ...          loss_mean=np.zeros(2, np.float32), loss_last=np.zeros(2, np.float32),
        ...          margin_mean=np.zeros(2, np.float32), margin_last=np.zeros(2, np.float32),
        ...          epochs=np.int64(3), method=np.str_("ce"))
        >>> ev = load_evidence(folder)
        >>> ev.method, ev.epochs, ev.clean_label is None
        ('ce', 3, True)
    """
    file = evidence_path(path)
    try:
        with np.load(file, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise EvidenceError(f"{file}: not a readable evidence file ({err})") from None
    missing = [key for key in _REQUIRED if key not in arrays]
    if missing:
        raise EvidenceError(
            f"{file}: missing {', '.join(missing)}: expected the keys {', '.join(_REQUIRED)} "
            f"(found {', '.join(sorted(arrays)) or 'none'})"
        )
    known = {f.name for f in fields(Evidence)} - {"extra", "source"}
    n = len(arrays["given_label"]) if arrays["given_label"].ndim == 1 else -1
    extra = {key: value for key, value in arrays.items()
             if key not in known and value.shape == (n,)}
    return Evidence(**{key: value for key, value in arrays.items() if key in known},
                    extra=extra, source=str(file))
