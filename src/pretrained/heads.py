"""Framework-free rules of `prune_heads`, shared by the three backends.

Example:
    >>> from pretrained.heads import merge_pruned_heads, pruneable_heads_and_indices
    >>> heads, index = pruneable_heads_and_indices([1], n_heads=3, head_size=2, already_pruned=set())
    >>> sorted(heads), index.tolist()
    ([1], [0, 1, 4, 5])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

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


def find_pruneable_heads_and_indices(
    heads: Iterable[int], n_heads: int, head_size: int, already_pruned_heads: set[int]
) -> tuple[set[int], np.ndarray]:
    """transformers v4's name (and argument names) for [`pruneable_heads_and_indices`][pretrained.heads.pruneable_heads_and_indices].

    >>> find_pruneable_heads_and_indices([0], n_heads=2, head_size=1, already_pruned_heads=set())[1].tolist()
    [1]
    """
    return pruneable_heads_and_indices(heads, n_heads, head_size, already_pruned_heads)


def merge_pruned_heads(pruned_heads: Mapping[int, Iterable[int]], heads_to_prune: Mapping[int, Iterable[int]]) -> dict[int, list[int]]:
    """`config.pruned_heads` after pruning `heads_to_prune` (union per layer, sorted lists for JSON)."""
    merged = {int(layer): sorted(set(heads)) for layer, heads in pruned_heads.items()}
    for layer, heads in heads_to_prune.items():
        merged[int(layer)] = sorted(set(merged.get(int(layer), [])) | set(heads))
    return merged


def normalise_layer_numbers(pruned_heads: Mapping[int, Iterable[int]], num_layers: int | None) -> dict[int, list[int]]:
    """`pruned_heads` with negative layer numbers counted from the end (`-1`: the last of `num_layers`), entries
    for one layer merged; unchanged keys when the layer count is unknown.

    >>> normalise_layer_numbers({-1: [0], 2: [1]}, 3)
    {2: [0, 1]}
    """
    merged: dict[int, list[int]] = {}
    for layer, heads in pruned_heads.items():
        number = int(layer)
        if number < 0 and num_layers:
            number %= num_layers
        merged[number] = sorted(set(merged.get(number, [])) | {int(h) for h in heads})
    return merged


def layer_count(config: Any) -> int | None:
    """The number of layers `config` declares (`num_hidden_layers` of its text config), or None.

    >>> from pretrained import PretrainedConfig
    >>> layer_count(PretrainedConfig(num_hidden_layers=4)), layer_count(PretrainedConfig())
    (4, None)
    """
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    count = getattr(text, "num_hidden_layers", None)
    return count if isinstance(count, int) else None
