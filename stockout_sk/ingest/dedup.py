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
        distinct, first_idx, inverse = np.unique(keys, return_index=True, return_inverse=True)
        # Looked up in sorted order: one sweep through the held keys, not a random probe each.
        at = np.searchsorted(self._keys, distinct)
        found = np.zeros(len(distinct), dtype=bool)
        reference = content[first_idx]
        if len(self._keys):
            pos = np.minimum(at, len(self._keys) - 1)
            found = self._keys[pos] == distinct
            reference = np.where(found, self._content[pos], reference)
        duplicate = found[inverse] | (np.arange(n) != first_idx[inverse])
        conflicting = int((duplicate & (content != reference[inverse])).sum())
        # The new keys are distinct, sorted and none is held: merged in where they belong.
        new = ~found
        self._keys = np.insert(self._keys, at[new], distinct[new])
        self._content = np.insert(self._content, at[new], content[first_idx[new]])
        return duplicate, conflicting
