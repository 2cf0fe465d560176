"""Methods: each one composes the library's steps and handlers into what a run needs, with
its hyper-parameters declared once (types, the paper's defaults, ranges, help).

Importing this package registers every method without importing torch; ``build`` and
:func:`train` import the rest of the library when called.
"""

from .ce import CEConfig
from .coteaching import CoTeachingConfig
from .dividemix import DivideMixConfig, GSSSSLConfig
from .gal import VARIANTS as GAL_VARIANTS
from .gal import GALConfig
from .gss_ce import DirectionPoolOptions, GSSCEConfig
from .parts import MethodParts
from .registry import METHODS, MethodSpec, get_method, register
from .robust_losses import GCEConfig, LabelSmoothingConfig, SCEConfig
from .screening import ScreeningConfig

__all__ = ["METHODS", "MethodSpec", "MethodParts", "get_method", "register", "train",
           "CEConfig", "GALConfig", "GAL_VARIANTS", "DivideMixConfig", "GSSSSLConfig",
           "GSSCEConfig", "ScreeningConfig", "DirectionPoolOptions", "GCEConfig", "SCEConfig",
           "LabelSmoothingConfig", "CoTeachingConfig"]


def train(method: str, cfg, **kwargs) -> dict:
    """Train a registered method (see :func:`ignoise.methods.training.train`)."""
    from .training import train as _train

    return _train(method, cfg, **kwargs)
