"""The ffcv tests never skip: a failed import of ffcv or of what it loads (OpenCV's ``cv2``,
libturbojpeg) fails them with the import error; ``IGNOISE_WITH_FFCV=0`` is the only way to leave
them out, and the run's summary then says so."""

import os
import subprocess
import sys
import textwrap

import pytest
from conftest import ROOT, require_ffcv_extra

# What a missing system library looks like: the compiled extension's dlopen fails on import.
NO_TURBOJPEG = """
    import importlib.abc
    import sys


    class NoTurboJPEG(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "ffcv._libffcv":
                raise ImportError("libturbojpeg.so.0: cannot open shared object file: "
                                  "No such file or directory")
            return None


    sys.meta_path.insert(0, NoTurboJPEG())
"""

# Two tests as test_ffcv.py writes them: one needs the extra (marked ffcv), one does not.
TESTS = """
    import pytest
    from conftest import require_ffcv_extra


    @pytest.mark.ffcv
    def test_needs_ffcv():
        require_ffcv_extra()


    def test_without_ffcv():
        pass
"""


def pytest_run(tmp_path, *args, **env):
    """pytest on ``TESTS`` in ``tmp_path`` with the suite's conftest as a plugin (a small run:
    test_ffcv.py itself would import torch and ffcv in the child, several seconds)."""
    (tmp_path / "test_two.py").write_text(textwrap.dedent(TESTS))
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "conftest", "-q",
           "-rA", "-o", "markers=ffcv: needs the ffcv extra", "test_two.py", *args]
    path = os.pathsep.join([str(tmp_path), str(ROOT / "tests")])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": path, **env}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env,
                          cwd=tmp_path)


def test_a_missing_cv2_fails_the_test_with_the_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)  # `import cv2` now raises ImportError
    with pytest.raises(pytest.fail.Exception, match="the ffcv extra does not import: "
                                                    "ModuleNotFoundError: import of cv2 halted"):
        require_ffcv_extra()


def test_a_missing_libturbojpeg_fails_the_ffcv_tests_not_skips_them(tmp_path):
    (tmp_path / "no_turbojpeg.py").write_text(textwrap.dedent(NO_TURBOJPEG))
    proc = pytest_run(tmp_path, "-p", "no_turbojpeg", IGNOISE_WITH_FFCV="1")
    out = proc.stdout + proc.stderr
    assert proc.returncode == pytest.ExitCode.TESTS_FAILED, out[-3000:]
    assert "1 failed, 1 passed" in out and "skipped" not in out, out[-3000:]
    assert "the ffcv extra does not import: ImportError: libturbojpeg.so.0: cannot open" in out


def test_ignoise_with_ffcv_0_leaves_them_out_and_says_so(tmp_path):
    proc = pytest_run(tmp_path, IGNOISE_WITH_FFCV="0")
    out = proc.stdout + proc.stderr
    assert proc.returncode == pytest.ExitCode.OK, out[-3000:]
    assert "1 passed, 1 deselected" in out, out[-3000:]
    assert "ffcv tests left out" in out
    assert "IGNOISE_WITH_FFCV=0: 1 tests marked ffcv were not run" in out
