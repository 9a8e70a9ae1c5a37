"""Framework-free rules of `prune_heads`, shared by the three backends.

Example:
    >>> from pretrained.heads import merge_pruned_heads, pruneable_heads_and_indices
    >>> heads, index = pruneable_heads_and_indices([1], n_heads=3, head_size=2, already_pruned=set())
    >>> sorted(heads), index.tolist()
    ([1], [0, 1, 4, 5])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np


def pruneable_heads_and_indices(
    heads: Iterable[int], n_heads: int, head_size: int, already_pruned: set[int]
) -> tuple[set[int], np.ndarray]:
    """The heads still to prune (already-pruned ones skipped) and the flat indices of the rows to keep.

    Head numbers refer to the original heads; they are shifted past the heads pruned before. Pruning every
    remaining head of a layer is refused (it would leave an attention layer with no heads).
    """
    to_prune = set(heads) - already_pruned
    for head in to_prune:
        if not 0 <= head < n_heads + len(already_pruned):
            raise ValueError(f"cannot prune head {head}: the layer has {n_heads + len(already_pruned)} heads")
    if to_prune and len(to_prune) >= n_heads:
        raise ValueError(f"cannot prune all {n_heads} remaining heads of a layer (asked for {sorted(to_prune)})")
    mask = np.ones((n_heads, head_size), dtype=bool)
    for head in to_prune:
        shifted = head - sum(1 for h in already_pruned if h < head)
        mask[shifted] = False
    return to_prune, np.flatnonzero(mask.reshape(-1))


def merge_pruned_heads(pruned_heads: Mapping[int, Iterable[int]], heads_to_prune: Mapping[int, Iterable[int]]) -> dict[int, list[int]]:
    """`config.pruned_heads` after pruning `heads_to_prune` (union per layer, sorted lists for JSON)."""
    merged = {int(layer): sorted(set(heads)) for layer, heads in pruned_heads.items()}
    for layer, heads in heads_to_prune.items():
        merged[int(layer)] = sorted(set(merged.get(int(layer), [])) | set(heads))
    return merged
