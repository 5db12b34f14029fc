"""Feature hashing of the IDs and their crosses; the last feature step of the pipeline.

IDs are high-cardinality and open-ended (new items, new branches): hashing maps any value, seen
or not, to a fixed number of columns with scikit-learn's
:class:`~sklearn.feature_extraction.FeatureHasher` (MurmurHash3 with a fixed seed — never Python's
salted ``hash()``). Each token is prefixed with its group (``ItemCode=…``,
``ItemCode×BranchID=…``) so groups share one hashed space without meaning the same.
The output is the dense float32 model matrix: numeric columns followed by the hashed columns.

Each distinct token is hashed once per process: what FeatureHasher said is remembered (a token
memo for requests, integer-keyed tables for batches; both bounded, never saved with the model), and
a request's few new tokens get FeatureHasher's arithmetic directly (``_hash_tokens``).
"""

from __future__ import annotations

import numbers
import threading

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction import FeatureHasher
from sklearn.utils import murmurhash3_32
from sklearn.utils.validation import check_is_fitted

from stockout_sk.features.calendar import to_day_numbers
from stockout_sk.features.columns import (
    check_input,
    check_same_columns,
    column,
    ensure_fitted,
    factorize,
    float_column,
    n_rows,
)
from stockout_sk.features.names import HASH_PREFIX
from stockout_sk.params import check_int

ID_COLUMNS: tuple[str, ...] = ("ItemCode", "BranchID", "FromBranchID", "ToBranchID")
#: Crosses hashed as one token each; ``Month`` is taken from ``Date``.
CROSSES: tuple[tuple[str, str], ...] = (("ItemCode", "BranchID"), ("ItemCode", "Month"))
_DROP = ("Date",)
# Up to this many rows, plain Python beats pandas' factorize set-up cost.
_SMALL = 16
# Bound of the per-process token memo of small calls (cleared when full).
_MEMO_TOKENS = 200_000
# Up to this many new tokens are hashed one by one: below it, FeatureHasher's per-call set-up
# costs more than hashing them.
_FEW_TOKENS = 32
_INT32_MIN = -(2**31)


class HashedIDs(TransformerMixin, BaseEstimator):
    """Hash ID columns and crosses into ``n_features`` columns; keep numeric columns as they are.

    Parameters
    ----------
    n_features : int, default=64
        Width of the hashed block (shared by all groups).
    id_columns : tuple of str, default=("ItemCode", "BranchID", "FromBranchID", "ToBranchID")
        Columns hashed one token per row each.
    crosses : tuple of (str, str), default=(("ItemCode", "BranchID"), ("ItemCode", "Month"))
        Pairs hashed as one joint token; ``"Month"`` means the month of ``Date``.
    alternate_sign : bool, default=False
        FeatureHasher's signed hashing. Off: trees split on presence counts more easily.

    Attributes
    ----------
    numeric_features_ : ndarray of str
        Columns passed through as numbers (every input column but the IDs and ``Date``).
    feature_names_in_ : ndarray of str
    """

    def __init__(
        self,
        *,
        n_features: int = 64,
        id_columns: tuple[str, ...] = ID_COLUMNS,
        crosses: tuple[tuple[str, str], ...] = CROSSES,
        alternate_sign: bool = False,
    ) -> None:
        self.n_features = n_features
        self.id_columns = id_columns
        self.crosses = crosses
        self.alternate_sign = alternate_sign

    def fit(self, X: pd.DataFrame, y=None) -> HashedIDs:
        """Record the columns; the hashing itself needs no fitting."""
        needed = {*self.id_columns, *(c for pair in self.crosses for c in pair)} - {"Month"}
        if any(c == "Month" for pair in self.crosses for c in pair):
            needed.add("Date")
        check_input(X, self, tuple(sorted(needed)))
        check_int(self.n_features, "n_features", caller=type(self).__name__)
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        skip = {*self.id_columns, *_DROP}
        numeric = []
        for name in self.feature_names_in_:
            if name in skip:
                continue
            dtype = np.asarray(column(X, name)[:0]).dtype if n_rows(X) == 0 else None
            values = column(X, name)
            dtype = values.dtype if hasattr(values, "dtype") else dtype
            if dtype is not None and dtype.kind == "O" and _all_numbers(values):
                # A batch of at most a few dozen rows is read in one go as objects
                # (features.columns.as_columns), numbers included: a fit on few rows (a small
                # fold of a short export) is one.
                dtype = np.dtype(np.float64)
            if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
                raise TypeError(
                    f"HashedIDs: column {name!r} has dtype {dtype}; only numeric columns pass "
                    "through. Hash it (add it to id_columns) or drop it upstream"
                )
            numeric.append(name)
        self.numeric_features_ = np.asarray(numeric, dtype=object)
        # The hasher and what it said about tokens follow the parameters: start afresh.
        self._hasher = None
        self.__dict__.pop("_token_memo", None)
        self.__dict__.pop("_hash_cache", None)
        return self

    def _get_hasher(self) -> FeatureHasher:
        # Stateless and cheap; rebuilt lazily so the fitted object holds plain data only.
        hasher = getattr(self, "_hasher", None)
        if hasher is None:
            hasher = FeatureHasher(
                n_features=self.n_features,
                input_type="string",
                alternate_sign=self.alternate_sign,
            )
            self._hasher = hasher
        return hasher

    def _group_columns(self, X, *, month_text: bool) -> dict[str, np.ndarray]:
        """The columns the groups read, as objects. ``Month`` comes from ``Date``: as its text
        ("1"…"12", "?") with ``month_text``, else as its index into ``_MONTH_TEXT``."""
        columns = {c: _as_str(column(X, c)) for c in self.id_columns}
        for a, b in self.crosses:
            for name in (a, b):
                if name in columns:
                    continue
                if name == "Month":
                    month = _month_numbers(X)
                    columns[name] = _MONTH_TEXT.astype(object)[month] if month_text else month
                else:
                    columns[name] = _as_str(column(X, name))
        return columns

    def _hashed_block(self, X, rows: int) -> np.ndarray:
        """Hash each group's DISTINCT tokens once, then scatter them to the rows.

        IDs repeat across rows, so hashing the uniques costs the same for one row and is far
        cheaper for a batch, and tokens already hashed in this process are not hashed again
        (:meth:`_token_columns` for small calls, :class:`_HashCache` for batches). Each token
        lands in exactly the column (and with the sign) FeatureHasher gives it, so the result
        equals hashing the rows directly. A group's token is ``"<group>=<value>"``, a cross's
        ``"<a>×<b>=<value a>|<value b>"``.
        """
        columns = self._group_columns(X, month_text=rows <= _SMALL)
        groups = [(f"{c}=", c, None) for c in self.id_columns]
        groups += [(f"{a}×{b}=", a, b) for a, b in self.crosses]
        codes: list[np.ndarray] = []
        offsets: list[int] = []
        if rows <= _SMALL:
            tokens: list[str] = []
            for prefix, a, b in groups:
                offsets.append(len(tokens))
                first = columns[a]
                joined = (
                    list(first)
                    if b is None
                    else [f"{x}|{y}" for x, y in zip(first, columns[b], strict=True)]
                )
                uniques = list(dict.fromkeys(joined))
                lookup = {value: i for i, value in enumerate(uniques)}
                codes.append(np.fromiter((lookup[v] for v in joined), dtype=np.int64, count=rows))
                tokens.extend(f"{prefix}{value}" for value in uniques)
            token_col, token_val = self._token_columns(tokens)
        else:
            # Each column factorised once (ItemCode feeds three groups; the history step has
            # usually factorised the IDs already, see ``factorize``), its distinct values as
            # text once; a cross's distinct pairs come from the two columns' codes.
            factorised: dict[str, tuple[np.ndarray, np.ndarray]] = {}
            for name, values in columns.items():
                if name == "Month":  # already small integers: no strings per row
                    factorised[name] = (values, _MONTH_TEXT)
                    continue
                code, uniques = factorize(X, name)
                if (code < 0).any():  # a missing ID is a token too ("None", "nan")
                    code, uniques = pd.factorize(values, use_na_sentinel=False)
                text = np.asarray([str(u) for u in uniques], dtype=str)
                factorised[name] = (np.asarray(code, dtype=np.int64), text)
            cache = self._batch_cache()
            ids = {name: cache.ids(name, text) for name, (_, text) in factorised.items()}
            packed_parts = []
            for group, (prefix, a, b) in enumerate(groups):
                offsets.append(sum(len(part) for part in packed_parts))
                code_a, text_a = factorised[a]
                if b is None:
                    codes.append(code_a)
                    first, second = np.arange(len(text_a)), None
                    keys = ids[a] << 32
                else:
                    code_b, text_b = factorised[b]
                    width = max(len(text_b), 1)
                    code, pairs = pd.factorize(code_a * width + code_b)
                    codes.append(np.asarray(code, dtype=np.int64))
                    first, second = pairs // width, pairs % width
                    keys = (ids[a][first] << 32) | ids[b][second]
                packed = cache.lookup(group, keys)
                new = packed < 0
                if new.any():  # tokens seen for the first time in this process
                    text = np.strings.add(prefix, text_a[first[new]])
                    if second is not None:
                        text = np.strings.add(np.strings.add(text, "|"), text_b[second[new]])
                    packed[new] = self._hash_tokens(text.tolist())
                    cache.add(group, keys[new], packed[new])
                packed_parts.append(packed)
            packed_all = np.concatenate(packed_parts)
            token_col, token_val = packed_all >> 2, _SIGN_VALUE[packed_all & 3]
        block = np.zeros((rows, self.n_features), dtype=np.float32)
        row_ids = np.arange(rows)
        for offset, code in zip(offsets, codes, strict=True):
            # Within one group every row gets one token, so (row, column) pairs never repeat.
            block[row_ids, token_col[offset + code]] += token_val[offset + code]
        return block

    def _hash_tokens(self, tokens: list[str]) -> np.ndarray:
        """What FeatureHasher gives each token, packed as one integer: ``column × 4 + sign``
        (sign 0: +1, 1: −1, 2: no entry).

        A few tokens (a request's new IDs) get FeatureHasher's own arithmetic one by one — the
        signed MurmurHash3 of the token's UTF-8 bytes with seed 0, column ``|h| mod
        n_features``, sign of ``h`` — which skips its per-call set-up; more go through
        FeatureHasher in one call. A unit test holds both equal on many tokens.
        """
        if len(tokens) <= _FEW_TOKENS:
            n, signed = self.n_features, self.alternate_sign
            packed = []
            for token in tokens:
                h = murmurhash3_32(token, seed=0)
                # FeatureHasher's column of -2**31, whose absolute value overflows int32.
                col = (2**31 - 1 - (n - 1)) % n if h == _INT32_MIN else abs(h) % n
                packed.append(col * 4 + (1 if signed and h < 0 else 0))
            return np.asarray(packed, dtype=np.int64)
        hashed = self._get_hasher().transform(zip(tokens)).tocsr()  # one token per sample
        if not hashed.nnz:
            return np.full(len(tokens), 2, dtype=np.int64)
        # One token per row of ``hashed``: its only entry is the token's column and sign.
        position = np.minimum(hashed.indptr[:-1], hashed.nnz - 1)
        has_entry = np.diff(hashed.indptr) > 0
        cols = np.where(has_entry, hashed.indices[position], 0).astype(np.int64)
        return cols * 4 + np.where(has_entry, (hashed.data[position] < 0).astype(np.int64), 2)

    def _token_columns(self, tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Column and value FeatureHasher gives each token of a small call.

        Requests repeat the same IDs, so what FeatureHasher said about a token is remembered in
        a bounded per-process memo (never persisted; dropped by ``fit``). Threads share it: a
        full memo is replaced by a new one, never emptied under another thread's feet.
        """
        memo = self.__dict__.setdefault("_token_memo", {})
        missing = [t for t in tokens if t not in memo]
        if missing:
            if len(memo) + len(missing) > _MEMO_TOKENS:
                memo = self.__dict__["_token_memo"] = {}
                missing = list(dict.fromkeys(tokens))  # the new memo knows none of them
            memo.update(zip(missing, self._hash_tokens(missing).tolist(), strict=True))
        packed_all = np.fromiter(map(memo.__getitem__, tokens), np.int64, len(tokens))
        return packed_all >> 2, _SIGN_VALUE[packed_all & 3]

    def _batch_cache(self) -> _HashCache:
        """The per-process cache of the batch path (see :class:`_HashCache`)."""
        cache = self.__dict__.get("_hash_cache")
        if cache is None or cache.size > _MEMO_TOKENS:
            cache = self.__dict__["_hash_cache"] = _HashCache()
        return cache

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """The model matrix: numeric columns then the hashed block, float32."""
        ensure_fitted(self, "numeric_features_")
        check_input(X, self, ())
        X = check_same_columns(X, self)
        rows = n_rows(X)
        out = np.empty((rows, len(self.numeric_features_) + self.n_features), dtype=np.float32)
        for position, name in enumerate(self.numeric_features_):
            values = X[name]
            # Column by column straight into the float32 matrix: stacking the float64 columns
            # first would hold a second, twice as large copy (GBs on a large training table).
            if isinstance(values, np.ndarray) and values.dtype.kind in "fb":
                out[:, position] = values
            else:
                out[:, position] = float_column(X, name)
        if rows:
            out[:, len(self.numeric_features_) :] = self._hashed_block(X, rows)
        return out

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Numeric column names, then ``hash_0 … hash_{n_features-1}``."""
        check_is_fitted(self, "numeric_features_")
        hashed = [f"{HASH_PREFIX}{i}" for i in range(self.n_features)]
        return np.asarray([*self.numeric_features_, *hashed], dtype=object)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_hasher", None)
        state.pop("_token_memo", None)
        state.pop("_hash_cache", None)
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags


class _HashCache:
    """What FeatureHasher gave the tokens of earlier batches, found by integer keys.

    Each column's distinct values get a per-process id (``ids``); a group's token is then the
    key ``id(a) << 32 | id(b)`` (``id(a) << 32`` for one column), looked up in a sorted array
    per group. A batch so needs Python work only for its distinct values and its new tokens,
    not for each distinct cross pair (about one per row for ItemCode×BranchID). Never
    persisted; rebuilt when it holds more than ``_MEMO_TOKENS`` entries. Safe to share between
    threads (the API scores batches in worker threads): new ids and keys are added under a lock.
    """

    def __init__(self) -> None:
        self.vocabularies: dict[str, dict[str, int]] = {}
        self.groups: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.size = 0
        self._lock = threading.Lock()

    def ids(self, name: str, text: np.ndarray) -> np.ndarray:
        """Per-process id of each value of column ``name`` (new values get new ids)."""
        values = text.tolist()
        vocabulary = self.vocabularies.get(name, {})
        found = [vocabulary.get(value) for value in values]
        if None in found:
            with self._lock:  # two threads must never give two values the same id
                vocabulary = self.vocabularies.setdefault(name, {})
                before = len(vocabulary)
                found = [vocabulary.setdefault(value, len(vocabulary)) for value in values]
                self.size += len(vocabulary) - before
        return np.asarray(found, dtype=np.int64)

    def lookup(self, group: int, keys: np.ndarray) -> np.ndarray:
        """Packed hash of each key of ``group``; ``-1`` where it was never seen."""
        known, packed = self.groups.get(group, (np.empty(0, np.int64), np.empty(0, np.int64)))
        if not len(known):
            return np.full(len(keys), -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(known, keys), len(known) - 1)
        return np.where(known[pos] == keys, packed[pos], -1)

    def add(self, group: int, keys: np.ndarray, packed: np.ndarray) -> None:
        """Remember the packed hashes of new ``keys`` of ``group``."""
        with self._lock:
            empty = (np.empty(0, np.int64), np.empty(0, np.int64))
            known, values = self.groups.get(group, empty)
            fresh = ~np.isin(keys, known)  # another thread may have added some meanwhile
            known = np.concatenate([known, keys[fresh]])
            values = np.concatenate([values, packed[fresh]])
            order = np.argsort(known, kind="stable")
            self.groups[group] = (known[order], values[order])  # readers see old or new
            self.size += int(fresh.sum())


#: Value of a token's hashed entry by its remembered sign code (see ``_token_columns``).
_SIGN_VALUE = np.asarray([1.0, -1.0, 0.0])
#: Text of each month number: 0 is an unreadable date.
_MONTH_TEXT = np.asarray(["?", *(str(m) for m in range(1, 13))], dtype=str)


def _month_numbers(X) -> np.ndarray:
    """Month (1…12) of each row's ``Date``; 0 when it cannot be read."""
    days = to_day_numbers(column(X, "Date"))
    known = ~np.isnan(days)
    month = (
        np.where(known, days, 0).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    )
    return np.where(known, month % 12 + 1, 0)


def _as_str(values: np.ndarray) -> np.ndarray:
    """IDs as an object array; tokens are built with f-strings, so values need not be str yet."""
    return np.asarray(values, dtype=object)


def _all_numbers(values: np.ndarray) -> bool:
    """Every value is a real number or missing (no text, no bool)."""
    return all(
        value is None
        or (isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_))
        for value in values
    )
