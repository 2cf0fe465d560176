"""Sessions: ``tests``, ``demo``, ``lint`` (ruff), ``docs`` (Sphinx, warnings are errors) and
``mutants`` (mutation testing, not in CI).

Each session installs the project into its own virtualenv, so the README's two commands work on
a fresh machine: ``python3 -m pip install nox && nox -s demo`` and ``... && nox -s tests``.
"""

import os
import shutil

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True

# torchvision's compiled ops must match the torch build they were compiled against; the check
# below fails the session at once (with the versions) when an install left a mismatched pair.
TORCHVISION_CHECK = (
    "import torch, torchvision; from torchvision.ops import nms; "
    "nms(torch.rand(4, 4).cumsum(1), torch.rand(4), 0.5); "
    "print('torch', torch.__version__, '| torchvision', torchvision.__version__)"
)


def _install(session, extras: str) -> None:
    session.install("-e", f".[{extras}]")
    session.run("python", "-c", TORCHVISION_CHECK)


@nox.session
def tests(session):
    """The test suite (unit, integration on the digits, 2-process accelerate runs)."""
    extras = "test,ffcv" if os.environ.get("IGNOISE_WITH_FFCV", "1") == "1" else "test"
    _install(session, extras)
    session.run("pytest", *(session.posargs or ["-q"]))


@nox.session
def demo(session):
    """Every method on the embedded digits (the sweep of recipes/tables/demo.yaml, one run per
    core at a time, one thread each): a table and a plot in demo_output/."""
    _install(session, "test")
    session.run("python", "-m", "ignoise", "demo", *session.posargs)


@nox.session
def lint(session):
    session.install("ruff")
    session.run("ruff", "check", "ignoise", "recipes", "tests", "benchmarks", "noxfile.py")


@nox.session
def docs(session):
    """The Sphinx docs; warnings are errors."""
    _install(session, "docs")
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html")


# Killed / survived / ... counts and the kill rate, from mutmut's CI/CD export.
MUTANTS_SUMMARY = (
    "import json; s = json.load(open('mutants/mutmut-cicd-stats.json')); "
    "print(', '.join(f'{k} {v}' for k, v in s.items())); "
    "print(f\"kill rate {s['killed'] / s['total']:.1%} ({s['killed']} of {s['total']})\")"
)


@nox.session(default=False)
def mutants(session):
    """Mutation testing (mutmut) of ignoise/steps, handlers, losses and noise with the fast tests
    (not in CI; config in setup.cfg [mutmut], last results in docs/testing.md). Each run starts
    from a fresh mutants/ folder; ``nox -s mutants -- --max-children 1`` on a shared machine."""
    _install(session, "test")
    session.install("mutmut==3.8.1")
    shutil.rmtree("mutants", ignore_errors=True)
    session.env["OMP_NUM_THREADS"] = "1"
    session.run("mutmut", "run", *session.posargs)
    session.run("mutmut", "export-cicd-stats")
    session.run("python", "-c", MUTANTS_SUMMARY)
    # The survivors (and mutants no test reaches), one per line: inspect with `mutmut show`.
    session.run("mutmut", "results")
