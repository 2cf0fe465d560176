"""Run with keyword arguments, runs that write nothing, and strict results.json (no training:
trivial engines only)."""

import json
import math

import numpy as np
import pytest
import torch
from accelerate import Accelerator
from ignite.engine import Engine, Events

from ignoise.engine import RESULT_KEYS, Run, attach_common_handlers, plain_json


def strict_loads(text: str):
    """``json.loads`` that fails on the NaN / Infinity tokens Python's json would accept."""
    def refuse(token):
        raise ValueError(f"not strict JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def trivial_trainer(losses=(0.5, 1.5)):
    return Engine(lambda engine, batch: {"loss": torch.tensor(losses[batch])})


def evaluator_reporting(accuracies):
    """An evaluator whose ``accuracy`` is the next of ``accuracies`` each time it runs."""
    evaluator, values = Engine(lambda engine, batch: None), iter(accuracies)

    @evaluator.on(Events.COMPLETED)
    def report(engine):
        engine.state.metrics["accuracy"] = next(values)

    return evaluator


def test_run_without_output_dir_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = Run(seed=3, cpu=True, progress=False, method="mine",
              config={"dataset": "digits", "noise": "sym", "noise_rate": 0.2})
    assert run.output_dir is None and run.checkpoint is False and run.tensorboard is False
    assert run.shard == {"seed": 3, "rank": 0, "world_size": 1}
    assert run.per_process(64) == 64
    trainer = trivial_trainer()
    handlers = run.attach(trainer, evaluators={"test": (evaluator_reporting([0.25, 0.75]), [0])},
                          to_save={})
    assert handlers.checkpoint is None and handlers.tb_logger is None
    results = run.execute(trainer, [0, 1], max_epochs=2, extra_results=lambda: {"extra": 1})
    assert list(tmp_path.iterdir()) == []  # no results.json, checkpoints/ or tb/ anywhere
    assert set(RESULT_KEYS) <= set(results)
    assert (results["method"], results["dataset"], results["noise"], results["noise_rate"],
            results["seed"], results["epochs"]) == ("mine", "digits", "sym", 0.2, 3, 2)
    assert (results["test_acc_best"], results["test_acc_last"]) == (0.75, 0.75)
    assert [row["train_loss"] for row in results["history"]] == [1.0, 1.0]
    assert results["extra"] == 1 and results["num_processes"] == 1


def test_resume_needs_an_output_dir_and_a_checkpoint(tmp_path):
    with pytest.raises(ValueError, match="resume needs an output_dir"):
        Run(cpu=True, resume=True)
    with pytest.raises(ValueError, match="resume needs an output_dir"):
        Run(cpu=True, resume=True, output_dir=tmp_path, checkpoint=False)
    with pytest.raises(FileNotFoundError, match="no checkpoint to resume from"):
        Run(cpu=True, resume=True, output_dir=tmp_path)


def test_execute_before_attach_is_an_error():
    run = Run(cpu=True, progress=False)
    with pytest.raises(RuntimeError, match=r"call Run.attach\(...\) before Run.execute"):
        run.execute(trivial_trainer(), [0], max_epochs=1)


def test_results_json_is_strict_json_with_a_nan_metric(tmp_path):
    run = Run(output_dir=tmp_path, cpu=True, progress=False, tensorboard=False, method="m")
    trainer = trivial_trainer()
    run.attach(trainer, evaluators={"test": (evaluator_reporting([0.5, math.nan]), [0])},
               to_save={})
    results = run.execute(trainer, [0, 1], max_epochs=2, extra_results=lambda: {
        "curve": torch.tensor([1.0, math.inf]), "gap": np.float32("nan")})
    written = strict_loads((tmp_path / "results.json").read_text())
    assert written == results
    assert [row["test_accuracy"] for row in written["history"]] == [0.5, None]
    assert written["test_acc_last"] is None
    assert written["curve"] == [1.0, None] and written["gap"] is None
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == [
        "checkpoint_1.pt", "checkpoint_2.pt"]
    assert not (tmp_path / "tb").exists()


def test_attach_common_handlers_without_output_dir_or_checkpoint(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    accelerator = Accelerator(cpu=True)
    trainer = trivial_trainer()
    handlers = attach_common_handlers(trainer, accelerator=accelerator, evaluators={},
                                      output_dir=None, progress=False)
    trainer.run([0, 1], max_epochs=2)
    assert handlers.checkpoint is None and handlers.tb_logger is None
    assert [row["train_loss"] for row in handlers.history.rows] == [1.0, 1.0]
    assert set(handlers.to_save) == {"trainer", "history", "clock"}
    out = tmp_path / "out"
    trainer = trivial_trainer()
    handlers = attach_common_handlers(trainer, accelerator=accelerator, evaluators={},
                                      output_dir=out, checkpoint=False, tensorboard=False,
                                      progress=False)
    trainer.run([0], max_epochs=1)
    assert handlers.checkpoint is None and handlers.tb_logger is None
    assert list(tmp_path.iterdir()) == []


def test_plain_json():
    value = {
        "nan": math.nan, "inf": -math.inf, "ok": 1.5, "n": 3, "flag": True, "none": None,
        "nested": {1: [math.nan, (math.inf, 2.0)], "deeper": {"x": [{"y": math.nan}]}},
        "tensor": torch.tensor([[1.0, math.nan], [math.inf, 0.0]]),
        "scalar": torch.tensor(math.nan), "array": np.array([0.5, np.inf]),
        "np_int": np.int64(7), "path": "a/b",
    }
    out = plain_json(value)
    assert out == {
        "nan": None, "inf": None, "ok": 1.5, "n": 3, "flag": True, "none": None,
        "nested": {"1": [None, [None, 2.0]], "deeper": {"x": [{"y": None}]}},
        "tensor": [[1.0, None], [None, 0.0]], "scalar": None, "array": [0.5, None],
        "np_int": 7, "path": "a/b",
    }
    assert strict_loads(json.dumps(out, allow_nan=False)) == out
