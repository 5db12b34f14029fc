"""Duplicate keys across a whole file in bounded memory: sorted ``uint64`` hashes, not strings."""

from __future__ import annotations

import numpy as np


class _SeenKeys:
    """Sorted ``uint64`` hashes of keys already accepted, with a hash of their content.

    8 + 8 bytes per distinct key instead of a Python string per key; merging a chunk is a stable
    sort of two sorted runs (linear).
    """

    def __init__(self) -> None:
        self._keys = np.empty(0, dtype=np.uint64)
        self._content = np.empty(0, dtype=np.uint64)

    def mark(self, keys: np.ndarray, content: np.ndarray) -> tuple[np.ndarray, int]:
        """Flag duplicates (of earlier chunks or earlier in this chunk) and remember the rest.

        Returns the duplicate mask and how many duplicates differ in content from the kept copy.
        """
        n = len(keys)
        if n == 0:
            return np.zeros(0, dtype=bool), 0
        _, first_idx, inverse = np.unique(keys, return_index=True, return_inverse=True)
        first_of_row = first_idx[inverse]
        reference = content[first_of_row]
        found = np.zeros(n, dtype=bool)
        if len(self._keys):
            pos = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
            found = self._keys[pos] == keys
            reference = np.where(found, self._content[pos], reference)
        duplicate = found | (np.arange(n) != first_of_row)
        conflicting = int((duplicate & (content != reference)).sum())
        new_keys, new_content = keys[~duplicate], content[~duplicate]
        all_keys = np.concatenate([self._keys, new_keys])
        all_content = np.concatenate([self._content, new_content])
        order = np.argsort(all_keys, kind="stable")
        self._keys, self._content = all_keys[order], all_content[order]
        return duplicate, conflicting
