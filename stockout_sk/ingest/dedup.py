"""Duplicate keys across a whole file in bounded memory: sorted ``uint64`` hashes, not strings."""

from __future__ import annotations

import numpy as np


class _SeenKeys:
    """Sorted ``uint64`` hashes of keys already accepted, with a hash of their content.

    8 + 8 bytes per distinct key instead of a Python string per key; a chunk's new keys are
    sorted and inserted where they belong (linear in the keys held).
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
        # The new keys are distinct and none is held: merged in, not the whole array sorted.
        new_keys, new_content = keys[~duplicate], content[~duplicate]
        order = np.argsort(new_keys)
        at = np.searchsorted(self._keys, new_keys[order])
        self._keys = np.insert(self._keys, at, new_keys[order])
        self._content = np.insert(self._content, at, new_content[order])
        return duplicate, conflicting
