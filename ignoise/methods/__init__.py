"""Methods: each one composes the library's steps and handlers into what a run needs, with
its hyper-parameters declared once (types, the paper's defaults, ranges, help).

Importing this package registers every method without importing torch; ``build`` and
:func:`train` import the rest of the library when called.
"""

from .ce import CEConfig
from .colearning import CoLearningConfig
from .coteaching import CoTeachingConfig
from .coteaching_plus import CoTeachingPlusConfig
from .decoupling import DecouplingConfig
from .dividemix import DivideMixConfig, GSSSSLConfig
from .elr import ELRConfig
from .elr_plus import ELRPlusConfig
from .fdiv import FDivConfig
from .fine import FineConfig
from .gal import VARIANTS as GAL_VARIANTS
from .gal import GALConfig
from .gss_ce import DirectionPoolOptions, GSSCEConfig
from .jocor import JoCoRConfig
from .mentornet import MentorNetConfig
from .parts import MethodParts
from .registry import METHODS, MethodSpec, get_method, register
from .robust_losses import GCEConfig, LabelSmoothingConfig, SCEConfig
from .screening import ScreeningConfig

__all__ = ["METHODS", "MethodSpec", "MethodParts", "get_method", "register", "train",
           "CEConfig", "GALConfig", "GAL_VARIANTS", "DivideMixConfig", "GSSSSLConfig",
           "GSSCEConfig", "ScreeningConfig", "DirectionPoolOptions", "GCEConfig", "SCEConfig",
           "LabelSmoothingConfig", "CoTeachingConfig",
           "MentorNetConfig", "CoLearningConfig", "CoTeachingPlusConfig", "DecouplingConfig",
           "JoCoRConfig", "ELRConfig", "ELRPlusConfig",
           "FDivConfig", "FineConfig"]


def train(method: str, cfg, **kwargs) -> dict:
    """Train a registered method (see :func:`ignoise.methods.training.train`)."""
    from .training import train as _train

    return _train(method, cfg, **kwargs)
