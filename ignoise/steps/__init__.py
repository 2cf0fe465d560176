"""Update steps: one per training scheme, each a callable ``(engine, batch) -> dict``."""

from .agreement import AGREEMENT_READINGS, MASKED_UPDATES, UPDATE_RULES, AgreementStep
from .agreement_masks import AGREEMENT_GRANULARITIES, AgreementUnits, agreement_coefficients
from .colearning import CoLearningNetwork, CoLearningStep
from .coteaching import CoTeachingStep, forget_rate_schedule, keep_count
from .coteaching_plus import CoTeachingPlusStep
from .decoupling import DecouplingStep
from .disagreement import disagreement_mask, keep_counts, masked_mean, small_loss_mask
from .distillation import DistillationStep, distillation_loss, joint_probabilities
from .dividemix import SWITCHABLE_TARGETS, DivideMixStep
from .elr import ELRStep
from .elr_plus import ELRPlusStep, ema_decay_schedule, sigmoid_rampup, update_ema
from .frozen_pair import FrozenPairStep
from .jocor import JoCoRStep
from .masked_update import MaskedUpdate
from .mentornet import MENTORNET_CURRICULA, MentorNetStep, MovingPercentile, percentile_position
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
           "FrozenPairStep", "CoTeachingStep", "forget_rate_schedule", "keep_count",
           "CoTeachingPlusStep", "DecouplingStep", "JoCoRStep", "disagreement_mask", "keep_counts",
           "masked_mean", "small_loss_mask",
           "MentorNetStep", "MovingPercentile", "MENTORNET_CURRICULA", "percentile_position",
           "CoLearningNetwork", "CoLearningStep",
           "ELRStep", "ELRPlusStep", "ema_decay_schedule", "sigmoid_rampup", "update_ema"]
