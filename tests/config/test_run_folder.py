"""One folder, one run: default folders, run identity and the checks made before torch."""

import json

import pytest

from ignoise.config import ConfigError, TrainingConfig, auto_output_dir, check_run_folder
from ignoise.config.run_folder import (
    UNCOMPARED,
    clear_run_folder,
    done_epochs,
    identity_diff,
    run_identity,
    write_identity,
)
from ignoise.methods import DivideMixConfig, GALConfig


def saved_run(folder, cfg, method="ce", epochs_done=2):
    write_identity(folder, run_identity(method, cfg))
    (folder / "checkpoints").mkdir()
    for e in range(1, epochs_done + 1):
        (folder / "checkpoints" / f"checkpoint_{e}.pt").write_bytes(b"")
    return folder


def test_default_folders_are_one_per_run():
    cfg = TrainingConfig(dataset="cifar10", noise="sym", noise_rate=0.5, seed=2)
    assert auto_output_dir("ce", cfg) == "runs/ce/cifar10-sym-0.5-seed2"
    assert auto_output_dir("gal", GALConfig(variant="ab_freeze")) == \
        "runs/gal-ab_freeze/digits-none-0-seed0"
    assert auto_output_dir("gal", GALConfig()) == "runs/gal/digits-none-0-seed0"
    assert TrainingConfig().output_dir == "auto"


def test_identity_records_every_setting_and_compares_what_changes_training():
    cfg = DivideMixConfig(noise="sym", noise_rate=0.5, lr=0.02)
    identity = run_identity("dividemix", cfg)
    assert identity["method"] == "dividemix" and identity["config"]["lr"] == 0.02
    assert set(identity) == {"method", "config", "labels", "ignoise_version", "git_commit"}
    # what the labels are drawn with once DivideMix's convention applies (label-issues reads it)
    assert identity["labels"] == {"label_set": None, "noise_options": {"include_true_class": True}}
    # a saved identity went through JSON (mapping keys became strings): still the same run
    assert identity_diff(json.loads(json.dumps(identity)), identity) == []
    changed = run_identity("dividemix", cfg.replace(noise_rate=0.8, epochs=400,
                                                    output_dir="elsewhere", log_every=5))
    assert identity_diff(identity, changed) == ["noise_rate: 0.5 -> 0.8"]
    other_method = identity_diff(identity, run_identity("gss_ssl", cfg))
    assert other_method[0] == "method: dividemix -> gss_ssl"
    assert {"epochs", "output_dir", "resume", "overwrite"} <= UNCOMPARED
    assert not {"lr", "seed", "noise", "batch_size", "model", "mixed_precision"} & UNCOMPARED


def test_a_folder_holding_a_run_needs_resume_or_overwrite(tmp_path):
    cfg = TrainingConfig(output_dir=str(tmp_path), noise="sym", noise_rate=0.4, epochs=5)
    check_run_folder("ce", cfg)  # an empty folder is free
    saved_run(tmp_path, cfg)
    with pytest.raises(ConfigError, match=rf"{tmp_path} already holds a run: pass --resume "
                                          r"to continue it, --overwrite to replace it"):
        check_run_folder("ce", cfg)
    check_run_folder("ce", cfg.replace(overwrite=True))
    check_run_folder("ce", cfg.replace(resume=True))
    check_run_folder("ce", cfg.replace(output_dir=None))
    finished = tmp_path / "finished"
    finished.mkdir()
    (finished / "results.json").write_text("{}")
    with pytest.raises(ConfigError, match="already holds a run"):
        check_run_folder("ce", cfg.replace(output_dir=str(finished)))


def test_resume_continues_only_the_same_run(tmp_path):
    cfg = TrainingConfig(output_dir=str(tmp_path), noise="sym", noise_rate=0.4, epochs=5,
                         resume=True)
    with pytest.raises(FileNotFoundError, match=r"--resume: no checkpoint_<epoch>.pt in"):
        check_run_folder("ce", cfg)
    saved_run(tmp_path, cfg, epochs_done=3)
    assert done_epochs(tmp_path) == 3
    for change, line in (({"noise_rate": 0.2}, "noise_rate: 0.4 -> 0.2"),
                         ({"seed": 1}, "seed: 0 -> 1"), ({"lr": 0.1}, "lr: 0.02 -> 0.1"),
                         ({"noise": "pairflip"}, 'noise: "sym" -> "pairflip"'),
                         ({"batch_size": 64}, "batch_size: 128 -> 64")):
        with pytest.raises(ConfigError, match=r"holds another run; these settings differ "
                                              r"\(saved -> given\): " + line.replace("(", r"\(")):
            check_run_folder("ce", cfg.replace(**change))
    with pytest.raises(ConfigError, match="method: ce -> gss_ce"):
        check_run_folder("gss_ce", cfg)
    with pytest.raises(ConfigError, match=r"epochs = 2, but the run .* has done 3 epochs: "
                                          "expected at least 3"):
        check_run_folder("ce", cfg.replace(epochs=2))
    check_run_folder("ce", cfg.replace(epochs=9, log_every=1, progress=False))  # extends


def test_overwrite_clears_only_what_a_run_wrote(tmp_path):
    saved_run(tmp_path, TrainingConfig())
    (tmp_path / "results.json").write_text("{}")
    (tmp_path / "tb").mkdir()
    (tmp_path / "notes.txt").write_text("mine")
    clear_run_folder(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("config, change, message", [
    (TrainingConfig, {"noise_rate": 0.4},
     r"noise_rate = 0.4 with noise = 'none' would train on clean labels: pass --noise"),
    (TrainingConfig, {"seed": -1}, r"seed = -1 is outside \[0, inf\)"),
    (TrainingConfig, {"log_every": 0}, r"log_every = 0 is outside \[1, inf\)"),
    (TrainingConfig, {"num_workers": -1}, r"num_workers = -1 is outside \[0, inf\)"),
    (TrainingConfig, {"collective_timeout_s": 0}, r"collective_timeout_s = 0 is outside"),
    (TrainingConfig, {"lr": float("inf")}, r"lr = inf"),
    (TrainingConfig, {"lr": 0.0}, r"lr = 0.0 is outside \(0, inf\)"),
    (TrainingConfig, {"resume": True, "overwrite": True}, "resume and overwrite both set"),
    (GALConfig, {"agreement_threshold": 7.0}, r"agreement_threshold = 7.0 is outside \[-1, 1\]"),
    (GALConfig, {"pseudo_label_threshold": 1.0},
     r"pseudo_label_threshold = 1.0 is outside \[0, 1\)"),
])
def test_inconsistent_or_out_of_range_settings_fail_naming_the_setting(config, change, message):
    with pytest.raises(ConfigError, match=message):
        config(**change)
