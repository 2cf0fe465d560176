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


def resolve_public_name(app, env, node, contnode):
    """Link a package-level name (``ignoise.steps.AgreementStep``, the import path the tutorials
    use) to where the API reference documents it (``ignoise.steps.agreement.AgreementStep``):
    the one documented object inside that package with that name, or, when several share the
    name, the one the package-level name is bound to."""
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    if not target.startswith("ignoise."):
        return None
    domain = env.get_domain("py")
    parts = target.split(".")
    for k in range(len(parts) - 1, 1, -1):  # the longest package prefix that finds something
        package, tail = ".".join(parts[:k]), "." + ".".join(parts[k:])
        candidates = [full for full in domain.objects
                      if full.startswith(package + ".") and full.endswith(tail)
                      and len(full) > len(package) + len(tail)]
        if len(candidates) > 1:
            real = _documented_name(target)
            candidates = [c for c in candidates if c == real]
        if len(candidates) == 1:
            return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"],
                                       candidates[0], node, contnode)
        if candidates:
            return None
    return None


def _documented_name(target: str) -> str | None:
    """``module.qualname`` of the object ``target`` names, if it can be imported."""
    import importlib

    parts = target.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
        return f"{module}.{qualname}" if module and qualname else None
    return None


def setup(app):
    app.connect("missing-reference", resolve_public_name)
