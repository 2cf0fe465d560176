"""Sessions: ``tests``, ``demo``, ``lint`` (ruff) and ``docs`` (Sphinx, warnings are errors).

Each session installs the project into its own virtualenv, so the README's two commands work on
a fresh machine: ``python3 -m pip install nox && nox -s demo`` and ``... && nox -s tests``.
"""

import os

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
    """Every method on the embedded digits: a table and a plot in demo_output/."""
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
