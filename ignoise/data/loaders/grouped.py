"""Grouped batch samplers: how one flat index list per iteration becomes a nested batch.

A paired sampler (CDAS) yields ``2B`` indices per iteration, network A's batch then B's; a
co-divide sampler yields ``4B``, A's labeled and unlabeled batches then B's. The torch loaders
collate them with :func:`~ignoise.data.loaders.torch_loaders.collate_pair` and
:func:`~ignoise.data.samplers.codivide.collate_codivide`; the device-resident and FFCV loaders
make one flat batch of all the indices (one gather, one augmentation call) and cut it here
into the same nested shape, so steps never know which loader fed them.
"""

from __future__ import annotations

from ..samplers.codivide import CODIVIDE_GROUPS

__all__ = ["PAIR_GROUPS", "split_groups", "grouped_sampler"]

#: The groups of a paired sampler's list: network A's batch, then B's.
PAIR_GROUPS = (("a",), ("b",))


def split_groups(batch: dict, groups) -> dict:
    """Cut a flat batch into ``len(groups)`` equal consecutive parts nested at ``groups``' paths.

    Args:
        batch: a flat batch (every value has the samples along dimension 0).
        groups: key paths, e.g. :data:`PAIR_GROUPS` or :data:`CODIVIDE_GROUPS`.

    Examples:
        >>> import torch
        >>> split_groups({"index": torch.arange(4)}, PAIR_GROUPS)["b"]["index"]
        tensor([2, 3])
        >>> out = split_groups({"index": torch.arange(8)}, CODIVIDE_GROUPS)
        >>> out["b"]["unlabeled"]["index"]
        tensor([6, 7])
    """
    size = len(batch["index"]) // len(groups)
    out: dict = {}
    for i, path in enumerate(groups):
        node = out
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = {key: value[i * size:(i + 1) * size] for key, value in batch.items()}
    return out


def grouped_sampler(paired_sampler=None, codivide_sampler=None):
    """``(sampler, groups, state_key)`` of the one grouped sampler given, or ``(None, None,
    None)``.

    Raises:
        ValueError: both were given.
    """
    if paired_sampler is not None and codivide_sampler is not None:
        raise ValueError("give a paired_sampler or a codivide_sampler, not both")
    if paired_sampler is not None:
        return paired_sampler, PAIR_GROUPS, "paired_sampler"
    if codivide_sampler is not None:
        groups = getattr(codivide_sampler, "groups", CODIVIDE_GROUPS)
        return codivide_sampler, groups, "codivide_sampler"
    return None, None, None
