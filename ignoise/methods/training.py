"""Training a registered method: the run, the data, the method's parts, ``results.json``."""

from __future__ import annotations

from ..config import ConfigError, auto_output_dir, check_run_folder, to_dict
from ..data import NoisyData, build_noisy_data
from ..engine import Run
from ..handlers import SampleEvidence
from .registry import METHODS, get_method

__all__ = ["train"]


def train(method: str, cfg, *, data: NoisyData | None = None, model=None,
          record: dict | None = None) -> dict:
    """Train ``method`` with the resolved config ``cfg`` and return its results.

    The Accelerator is created and every generator seeded first; then the data (``cfg``'s
    named dataset with its synthetic noise, unless ``data`` is given), then the method's
    parts; the common handlers (evaluation, history, checkpoint, TensorBoard) are attached,
    and ``results.json`` is written to ``cfg.output_dir``.

    With ``cfg.val_fraction > 0``, that share of the training set is held out as a noisy
    validation set (:meth:`~ignoise.data.NoisyData.hold_out`, seeded by ``cfg.seed``) after
    the noise is drawn over the whole set, so the samples trained on have the labels they
    would have without a hold-out; each epoch then also records ``val_accuracy``, and
    ``results.json`` the test accuracy at the best validation epoch
    (``test_acc_at_best_val``).

    Args:
        method: a registered method name (:data:`ignoise.methods.METHODS`).
        cfg: an instance of the method's config class.
        data: your own :class:`~ignoise.data.NoisyData` instead of ``cfg.dataset``.
        model: a factory ``() -> nn.Module`` for your own network instead of ``cfg.model``.
        record: more values to record under ``results.json``'s ``config``.

    Examples:
        >>> from ignoise.methods import CEConfig
        >>> cfg = CEConfig(dataset="digits", model="digits_cnn", epochs=1, batch_size=64,
        ...                output_dir=None, progress=False, cpu=True)
        >>> 0.0 <= train("ce", cfg)["test_acc_last"] <= 1.0
        True
    """
    spec = get_method(method)
    # A subclass of your own may add fields; another method's config (DivideMixConfig is a
    # CEConfig) would have its method's fields silently ignored.
    other = type(cfg) is not spec.config and any(type(cfg) is m.config
                                                 for m in METHODS.values())
    if not isinstance(cfg, spec.config) or other:
        raise TypeError(f"method {method!r} takes a {spec.config.__name__}, got "
                        f"{type(cfg).__name__}")
    if cfg.output_dir == "auto":
        cfg = cfg.replace(output_dir=auto_output_dir(method, cfg))
    check_run_folder(method, cfg)
    run = Run.from_config(cfg, method=method, config={**to_dict(cfg), **(record or {})})
    run.config["batch_size_per_process"] = run.per_process(cfg.batch_size)
    if data is None:
        data = build_noisy_data(cfg.dataset, cfg.data_root, noise=cfg.noise,
                                noise_rate=cfg.noise_rate, seed=cfg.seed, download=cfg.download,
                                label_set=cfg.effective_label_set(),
                                noise_options=cfg.effective_noise_options(),
                                transforms=cfg.transforms)
        run.config.update(label_set=cfg.effective_label_set(),
                          noise_options_used=cfg.effective_noise_options())
    else:
        run.config.update(dataset=data.name, noise=data.noise.kind, transforms=data.transforms)
    if cfg.val_fraction > 0:
        try:
            data = data.hold_out(cfg.val_fraction, cfg.seed)
        except ValueError as err:  # before any network is built
            raise ConfigError(f"val_fraction = {cfg.val_fraction:g}: {err}") from None
    if model is not None:
        run.config["model"] = "custom"
    parts = spec.build(run, data, cfg, model=model)
    run.method = parts.method_name or method
    evidence = None
    if parts.predict_probs is not None and parts.train_eval is not None:
        # per-sample evidence of label quality, checkpointed with the run (label-issues)
        evidence = SampleEvidence(parts.predict_probs, parts.train_eval, data.train.targets,
                                  data.num_classes, run.accelerator,
                                  models=parts.predict_models,
                                  clean=data.train.clean_targets, signals=parts.evidence_signals)
        evidence.attach(parts.trainer)
        parts.to_save["evidence"] = evidence
    handlers = run.attach(parts.trainer, evaluators=parts.evaluators, to_save=parts.to_save,
                          primary=parts.primary, scalar_keys=parts.scalar_keys)
    for source in parts.history_sources:
        handlers.history.add_source(source)
    extra = (lambda: parts.extra_results(handlers.history)) if parts.extra_results else None
    results = run.execute(parts.trainer, parts.train_loader, max_epochs=cfg.epochs,
                          extra_results=extra, epoch_length=parts.epoch_length)
    if evidence is not None and run.output_dir is not None and run.accelerator.is_main_process:
        evidence.save(run.output_dir / "evidence.npz", method=run.method)
    return results
