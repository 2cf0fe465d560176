"""Update steps: one per training scheme, each a callable ``(engine, batch) -> dict``."""

from .agreement import AGREEMENT_READINGS, MASKED_UPDATES, UPDATE_RULES, AgreementStep
from .agreement_masks import AGREEMENT_GRANULARITIES, AgreementUnits, agreement_coefficients
from .coteaching import CoTeachingStep, forget_rate_schedule, keep_count
from .distillation import DistillationStep, distillation_loss, joint_probabilities
from .dividemix import SWITCHABLE_TARGETS, DivideMixStep
from .frozen_pair import FrozenPairStep
from .masked_update import MaskedUpdate
from .mixmatch import co_guess, linear_rampup, mixup, refine_labels, sharpen
from .pair_and_distillation import PairAndDistillationStep
from .phased import PhasedStep
from .random_update import RandomUpdateStep
from .supervised import SupervisedStep
from .warmup_as_pair import WarmupAsPairStep

__all__ = ["SupervisedStep", "DivideMixStep", "SWITCHABLE_TARGETS", "co_guess", "linear_rampup",
           "mixup", "refine_labels", "sharpen",
           "AgreementStep", "AGREEMENT_READINGS", "MASKED_UPDATES", "UPDATE_RULES",
           "AGREEMENT_GRANULARITIES", "AgreementUnits", "agreement_coefficients",
           "DistillationStep", "distillation_loss", "joint_probabilities", "MaskedUpdate",
           "PhasedStep", "RandomUpdateStep", "WarmupAsPairStep", "PairAndDistillationStep",
           "FrozenPairStep", "CoTeachingStep", "forget_rate_schedule", "keep_count"]
