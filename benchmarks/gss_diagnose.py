"""DivideMix against GSS-SSL on the digits, over settings x seeds, with the pool's diagnostics.

    python benchmarks/gss_diagnose.py --output-dir runs/gss-diagnose   # docs/gss.rst's paired table
    python benchmarks/gss_diagnose.py --settings sym80 mlp_sym80 --variants dividemix gss \\
        --seeds 0 1 2 --workers 2 --output-dir runs/gss-diagnose --epochs-table

The settings and variants are the names of :data:`SETTINGS` and :data:`VARIANTS`; docs/gss.rst
("Where the networks are often wrong", "Class collapse and the aligned pool") has the tables
they gave and what they show.

Each cell (setting x variant x seed) is an ordinary ``python -m ignoise train`` run of the
method on the embedded digits, in its own process and folder
(``D/<setting>/<variant>/seed<S>``; a cell whose ``diagnostics.json`` exists is not run
again). Beside ``results.json`` the cell writes ``diagnostics.json``: per epoch, on the
labeled sets of the co-divide (each network's labeled set is the one the *other* network
judged clean) and over all samples,

- ``given_precision``: given label == clean label on the labeled sets (DivideMix's targets);
- ``drawn_precision``: drawn target == clean label on the labeled sets (GSS-SSL's targets);
- ``switched_labeled`` / ``switched_all``: drawn target != given label;
- ``switch_precision``: drawn == clean among the switched labeled samples, against
  ``switched_given_precision``: given == clean among the same samples (a switch helps only
  where the first is higher);
- ``prediction_accuracy``: argmax of the co-guessed prediction == clean label, all samples;
- ``smallest_class_share``: the class the co-guess predicts least often, its count over
  ``N / K`` (1 when every class is predicted equally often, 0 when one is never predicted; it
  needs no clean label).

The clean labels are read for these diagnostics only; nothing in training sees them. The final
table is the last-epoch test accuracy, mean ± sample std over the seeds, per setting and
variant.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

__all__ = ["SETTINGS", "VARIANTS", "main"]

#: name -> (flags of every run of the setting, model: None for the config's digits CNN or
#: "mlp:H" for a one-hidden-layer MLP of H units, built here).
SETTINGS = {
    "sym80": (["--noise", "sym", "--noise-rate", "0.8"], None),
    "sym80_short": (["--noise", "sym", "--noise-rate", "0.8", "--epochs", "12",
                     "--warmup-epochs", "4", "--lr-milestones", "9"], None),
    "pairflip40": (["--noise", "pairflip", "--noise-rate", "0.4", "--lambda-u", "0"], None),
    "instance40": (["--noise", "instance", "--noise-rate", "0.4", "--lambda-u", "0"], None),
    "mlp_sym50": (["--noise", "sym", "--noise-rate", "0.5"], "mlp:32"),
    "mlp_sym80": (["--noise", "sym", "--noise-rate", "0.8"], "mlp:32"),
    "mlp_pairflip40": (["--noise", "pairflip", "--noise-rate", "0.4", "--lambda-u", "0"],
                       "mlp:32"),
}

#: name -> (method, its flags). Every pool but ``gss`` (GSS-SSL's defaults: predictions aligned
#: to equal class frequencies, gate 0.5, no random strategy) names its class balance, so each
#: variant stays the pool it was measured as when the defaults change.
_POSTER = ["--confidence-gate", "0", "--lambda2", "0.1", "--class-balance", "none"]
VARIANTS = {
    "dividemix": ("dividemix", []),
    "gss": ("gss_ssl", []),
    "gss_poster": ("gss_ssl", _POSTER),
    "gss_given": ("gss_ssl", ["--class-balance", "given"]),
    "gss_poster_given": ("gss_ssl", ["--confidence-gate", "0", "--lambda2", "0.1",
                                     "--class-balance", "given"]),
    "gss_gate8": ("gss_ssl", ["--confidence-gate", "0.8", "--lambda2", "0",
                              "--class-balance", "none"]),  # GSS-SSL's previous default
    "gss_gate8_given": ("gss_ssl", ["--confidence-gate", "0.8", "--class-balance", "given"]),
    "gss_gate5": ("gss_ssl", ["--confidence-gate", "0.5", "--lambda2", "0",
                              "--class-balance", "none"]),
    "gss_cap": ("gss_ssl", _POSTER + ["--max-progress", "0.5"]),
    "gss_keep": ("gss_ssl", _POSTER + ["--keep-given", "0.5"]),
    "gss_clean": ("gss_ssl", _POSTER + ["--original-weight", "clean_prob"]),
    "gss_norandom": ("gss_ssl", ["--confidence-gate", "0", "--lambda2", "0",
                                 "--class-balance", "none"]),
    "gss_gate_cap": ("gss_ssl", ["--confidence-gate", "0.5", "--lambda2", "0.1",
                                 "--class-balance", "none", "--max-progress", "0.5"]),
    # GSS with plain cross-entropy (one network, no co-divide: only the accuracy is recorded;
    # the settings with --lambda-u do not apply to it).
    "gss_ce": ("gss_ce", ["--class-balance", "none"]),
    "gss_ce_uniform": ("gss_ce", ["--class-balance", "uniform"]),
}


def mlp(hidden: int, num_classes: int = 10):
    import torch

    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, hidden),
                               torch.nn.ReLU(), torch.nn.Linear(hidden, num_classes))


def run_cell(argv: list[str], model: str | None, out: Path) -> None:
    """Train one cell in this process and write its ``diagnostics.json``."""
    import torch

    import ignoise.methods.gss_ce as gss_ce
    import ignoise.methods.two_network_ssl as two_network_ssl
    from ignoise.commands.train import parse
    from ignoise.data import build_noisy_data
    from ignoise.methods.training import train

    name, cfg, path = parse(argv)
    # ignoise's own symmetric convention, the same for both methods: a corrupted label is
    # redrawn among the K - 1 other classes, so "80%" means 80% of the labels are wrong
    # (DivideMix's convention, the train command's default for its methods, flips 72%).
    options = dict(cfg.noise_options or {})
    if cfg.noise == "sym":
        options.setdefault("include_true_class", False)
    data = build_noisy_data(cfg.dataset, cfg.data_root, noise=cfg.noise,
                            noise_rate=cfg.noise_rate, seed=cfg.seed, download=cfg.download,
                            noise_options=options)
    clean = torch.as_tensor(data.train.clean_targets)
    given = torch.as_tensor(data.train.targets)
    rows: dict[int, dict] = {}
    held: dict = {}

    class RecordingCoDivide(two_network_ssl.CoDivide):
        def __call__(self, engine):
            super().__call__(engine)
            held["division"] = self
            if not self.divided:
                return
            row = rows.setdefault(engine.state.epoch, {"epoch": engine.state.epoch})
            labeled = [self.labeled(1).cpu(), self.labeled(0).cpu()]  # A's, B's labeled sets
            row["given_precision"] = _mean([_frac(given[m] == clean[m]) for m in labeled])
            row["labeled_fraction"] = _mean([_frac(m) for m in labeled])
            if self.predictions is not None:
                predicted = self.predictions.cpu().argmax(1)
                row["prediction_accuracy"] = _frac(predicted == clean)
                counts = torch.bincount(predicted, minlength=self.predictions.shape[1])
                row["smallest_class_share"] = float(counts.min() * len(counts) / counts.sum())

    def recording_pool(run, data, cfg):
        pool = original_pool(run, data, cfg)
        start = pool.start_epoch

        def start_epoch(epoch):
            start(epoch)
            division = held.get("division")
            if division is None or not division.divided:
                return
            drawn = pool.drawn.cpu()
            labeled = [division.labeled(1).cpu(), division.labeled(0).cpu()]
            switched = drawn != given
            row = rows.setdefault(epoch, {"epoch": epoch})
            row["drawn_precision"] = _mean([_frac(drawn[m] == clean[m]) for m in labeled])
            row["switched_labeled"] = _mean([_frac(switched[m]) for m in labeled])
            row["switched_all"] = _frac(switched)
            hits = [_frac(drawn[m & switched] == clean[m & switched]) for m in labeled
                    if bool((m & switched).any())]
            row["switch_precision"] = _mean(hits) if hits else None
            was = [_frac(given[m & switched] == clean[m & switched]) for m in labeled
                   if bool((m & switched).any())]
            row["switched_given_precision"] = _mean(was) if was else None

        pool.start_epoch = start_epoch
        if pool.original_weight == "clean_prob":
            # The wiring GSS-SSL's composition needs for this option (see docs/gss.rst).
            attach = pool.attach
            pool.attach = lambda trainer, **kw: attach(
                trainer, clean_prob=lambda: held["division"].clean_prob.mean(0), **kw)
        return pool

    original_pool = gss_ce.direction_pool
    gss_ce.direction_pool = recording_pool
    two_network_ssl.CoDivide = RecordingCoDivide
    factory = None
    if model is not None and model.startswith("mlp:"):
        hidden = int(model.split(":")[1])
        factory = lambda: mlp(hidden, data.num_classes)
    results = train(name, cfg, data=data, model=factory)
    acc = {h["epoch"]: h.get("test_accuracy") for h in results["history"]}
    history = [{**row, "test_accuracy": acc.get(e)} for e, row in sorted(rows.items())]
    (out / "diagnostics.json").write_text(json.dumps(
        {"test_acc_last": results["test_acc_last"], "test_acc_best": results["test_acc_best"],
         "argv": argv, "model": model, "history": history}, indent=1))


def _frac(mask) -> float:
    return float(mask.float().mean()) if mask.numel() else float("nan")


def _mean(values) -> float:
    return sum(values) / len(values)


def cell_command(setting: str, variant: str, seed: int, root: Path) -> tuple[list[str], Path]:
    flags, model = SETTINGS[setting]
    method, extra = VARIANTS[variant]
    out = root / setting / variant / f"seed{seed}"
    argv = ["--method", method, "--dataset", "digits", *flags, *extra, "--seed", str(seed),
            "--cpu", "--no-progress", "--output-dir", str(out)]
    cmd = ["nice", "-n", "5", sys.executable, __file__, "--cell", json.dumps(
        {"argv": argv, "model": model, "out": str(out)})]
    return cmd, out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--settings", nargs="+",
                   default=["sym80", "pairflip40", "instance40", "mlp_sym50", "mlp_sym80"],
                   choices=sorted(SETTINGS))
    p.add_argument("--variants", nargs="+",
                   default=["dividemix", "gss", "gss_poster"],
                   choices=sorted(VARIANTS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--output-dir", type=Path, default=Path("runs/gss-diagnose"))
    p.add_argument("--epochs-table", action="store_true",
                   help="also print each cell's per-epoch diagnostics")
    p.add_argument("--cell", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.cell:
        cell = json.loads(args.cell)
        out = Path(cell["out"])
        out.mkdir(parents=True, exist_ok=True)
        run_cell(cell["argv"], cell["model"], out)
        return {}

    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cells = [(s, v, seed) for s in args.settings for v in args.variants for seed in args.seeds]

    def run(cell):
        cmd, out = cell_command(*cell, args.output_dir)
        if not (out / "diagnostics.json").exists():
            out.mkdir(parents=True, exist_ok=True)
            start = time.time()
            with open(out / "cell.log", "w") as log:
                subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
            print(f"{'/'.join(map(str, cell))}: {time.time() - start:.0f} s", flush=True)
        return cell

    with ThreadPoolExecutor(args.workers) as executor:
        list(executor.map(run, cells))

    table: dict = {}
    by_seed: dict = {}
    for setting, variant, seed in cells:
        path = args.output_dir / setting / variant / f"seed{seed}" / "diagnostics.json"
        if not path.exists():
            print(f"missing: {path} (see cell.log beside it)")
            continue
        d = json.loads(path.read_text())
        table.setdefault((setting, variant), []).append(100 * d["test_acc_last"])
        by_seed[setting, variant, seed] = 100 * d["test_acc_last"]
        if args.epochs_table:
            print(f"\n{setting} {variant} seed {seed}: last {100 * d['test_acc_last']:.1f}")
            keys = ["given_precision", "drawn_precision", "switched_labeled", "switched_all",
                    "switch_precision", "switched_given_precision", "prediction_accuracy",
                    "smallest_class_share", "test_accuracy"]
            print("epoch " + " ".join(f"{k[:12]:>12}" for k in keys))
            for row in d["history"]:
                print(f"{row['epoch']:>5} " + " ".join(
                    f"{row[k]:>12.3f}" if isinstance(row.get(k), float) else f"{'-':>12}"
                    for k in keys))
    print("\nlast-epoch test accuracy (%), mean ± std over seeds " + " ".join(map(str, args.seeds)))
    print(f"{'setting':<16}" + "".join(f"{v:>18}" for v in args.variants))
    for setting in args.settings:
        line = f"{setting:<16}"
        for variant in args.variants:
            accs = table.get((setting, variant), [])
            if not accs:
                line += f"{'-':>18}"
                continue
            std = statistics.stdev(accs) if len(accs) > 1 else 0.0
            line += f"{statistics.mean(accs):>11.1f} ± {std:<4.1f}"
        print(line)
    _print_paired(by_seed, args)
    return {f"{s}/{v}": accs for (s, v), accs in table.items()}


def _print_paired(by_seed: dict, args) -> None:
    """Each variant minus DivideMix at the same seed: mean ± standard error over the seeds both
    ran (runs of one seed share every random draw until a pool switches a target)."""
    if "dividemix" not in args.variants or len(args.variants) < 2:
        return
    others = [v for v in args.variants if v != "dividemix"]
    print("\npaired difference to DivideMix (points), mean ± standard error over seeds")
    print(f"{'setting':<16}" + "".join(f"{v:>18}" for v in others))
    for setting in args.settings:
        line = f"{setting:<16}"
        for variant in others:
            diffs = [by_seed[setting, variant, s] - by_seed[setting, "dividemix", s]
                     for s in args.seeds
                     if (setting, variant, s) in by_seed and (setting, "dividemix", s) in by_seed]
            if len(diffs) < 2:
                line += f"{'-':>18}"
                continue
            se = statistics.stdev(diffs) / len(diffs) ** 0.5
            line += f"{statistics.mean(diffs):>+11.1f} ± {se:<4.1f}"
        print(line)


if __name__ == "__main__":
    main()
