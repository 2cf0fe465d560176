"""Run a recipe and SIGKILL it at a chosen training iteration, as a crash would:

    python kill_at_iteration.py EPOCH ITERATION recipes/<name>.py ARGS...

The trainer (the engine that :meth:`ignoise.engine.Run.execute` runs) gets one more handler,
registered after all of the run's own: when the ``ITERATION``-th iteration (1-based) of epoch
``EPOCH`` completes, the process kills itself with SIGKILL. Nothing is flushed or cleaned up, the
checkpoints of the completed epochs stay as they were, and the kill falls at the same point of
training on every run, however fast the machine.
"""

import os
import runpy
import signal
import sys
from pathlib import Path

from ignite.engine import Events

from ignoise.engine.run import Run


def kill_at(epoch: int, iteration: int):
    def in_epoch(engine, global_iteration: int) -> bool:
        state = engine.state
        return (state.epoch == epoch
                and (global_iteration - 1) % state.epoch_length + 1 == iteration)

    def kill(engine) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    return in_epoch, kill


def main() -> None:
    epoch, iteration, recipe, *args = sys.argv[1:]
    in_epoch, kill = kill_at(int(epoch), int(iteration))
    execute = Run.execute

    def execute_then_die(self, trainer, *a, **kw):
        trainer.add_event_handler(Events.ITERATION_COMPLETED(event_filter=in_epoch), kill)
        return execute(self, trainer, *a, **kw)

    Run.execute = execute_then_die
    sys.argv = [recipe, *args]
    sys.path.insert(0, str(Path(recipe).resolve().parent))
    runpy.run_path(recipe, run_name="__main__")
    raise SystemExit(f"the run finished before epoch {epoch}, iteration {iteration}")


if __name__ == "__main__":
    main()
