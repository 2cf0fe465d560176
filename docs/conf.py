"""Sphinx configuration for the ignoise docs (``nox -s docs``; warnings are errors)."""

import ignoise

project = "ignoise"
author = "the ignoise developers"
release = ignoise.__version__
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
napoleon_google_docstring = True
napoleon_numpy_docstring = False
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": False}
# Type hints name classes of torch/ignite/accelerate that this build does not cross-reference.
nitpicky = False
suppress_warnings = ["myst.header"]
html_theme = "alabaster"
html_static_path = ["_static"]
