"""Samplers that shard by rank from one seed: random and evaluation order, CDAS pairs,
co-divide groups, class-balanced subsets."""

from .balanced import BalancedSubsets, ClassBalancedSubsetSampler
from .cdas import SAMPLING_MODES, ClassDistributionAgreementSampler
from .codivide import (
    CODIVIDE_GROUPS,
    PHASE_GROUPS,
    CoDivideBatchSampler,
    collate_codivide,
    make_codivide_loader,
)
from .sharded import ShardedEvalSampler, ShardedRandomSampler, epoch_generator

__all__ = [
    "ShardedRandomSampler", "ShardedEvalSampler", "epoch_generator",
    "ClassDistributionAgreementSampler", "SAMPLING_MODES",
    "CoDivideBatchSampler", "CODIVIDE_GROUPS", "PHASE_GROUPS", "collate_codivide",
    "make_codivide_loader",
    "ClassBalancedSubsetSampler", "BalancedSubsets",
]
