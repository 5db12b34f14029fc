"""Serving logic without a server or a registry: dates, frames, fallback, the model holder."""

from __future__ import annotations

import dataclasses
import logging
import threading
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from stockout_sk.config import ServingSettings, Settings, load_serving_settings
from stockout_sk.evaluate import rule_decision
from stockout_sk.serving import (
    ModelHolder,
    Snapshot,
    canonical_date,
    model_snapshot,
    predict,
    redact_uri,
    score_rows,
    to_frame,
)
from stockout_sk.vocabulary import Source

pytestmark = pytest.mark.unit

REGISTRY, RULE_BASELINE = Source.REGISTRY, Source.RULE_BASELINE

ROW = {
    "BranchID": "007",
    "ItemCode": "ITM1",
    "Date": "2024-04-01",
    "CurrentQuantity": 120,
    "ReservedQuantity": 10,
    "SafetyStockLevel": 50,
}
FIELDS = tuple(ROW)


# ------------------------------------------------------------------------------------------ dates
@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2024-04-01", "2024-04-01"),
        (" 2024-04-01 ", "2024-04-01"),
        ("2024-04-01T23:30:00+03:00", "2024-04-01"),
        ("2024-04-01 09:30", "2024-04-01"),
        ("2024-04-01T09:30:00.123Z", "2024-04-01"),
        ("2024/04/01", "2024-04-01"),
        ("25/04/2024", "2024-04-25"),  # only day-first is a date
        ("04/25/2024", "2024-04-25"),  # only month-first is a date
        ("05/05/2024", "2024-05-05"),  # both readings agree
        ("0075-02-21T00:00:00", "0075-02-21"),  # four-digit year (strftime wrote "75-02-21")
    ],
)
def test_canonical_date_accepts_unambiguous_forms(given: str, expected: str) -> None:
    assert canonical_date(given) == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("04/01/2024", "ambiguous date '04/01/2024'"),
        ("2024-02-30", "not a calendar date"),
        ("yesterday", "unparseable date 'yesterday'"),
        ("", "unparseable date ''"),
        ("2024-13-01T00:00", "unparseable"),
    ],
)
def test_canonical_date_refuses_with_the_value(given: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        canonical_date(given)


# --------------------------------------------------------------------------------------- settings
def test_settings_defaults_and_environment() -> None:
    default = load_serving_settings({})
    assert (default.alias, default.poll_seconds, default.max_batch) == ("production", 30.0, 10_000)
    assert default.api_key is None
    assert default.coalesce_max_rows == 64
    custom = load_serving_settings(
        {
            "MLFLOW_TRACKING_URI": "http://mlflow:5000",
            "STOCKOUT_MODEL_NAME": "m",
            "STOCKOUT_MODEL_ALIAS": "staging",
            "STOCKOUT_POLL_SECONDS": "2.5",
            "STOCKOUT_REGISTRY_GRACE_SECONDS": "0",
            "STOCKOUT_MAX_BATCH": "50",
            "STOCKOUT_MAX_BODY_BYTES": "1000",
            "STOCKOUT_API_KEY": "k",
            "STOCKOUT_COALESCE_MAX_ROWS": "1",
        }
    )
    assert custom.registry.tracking_uri == "http://mlflow:5000"
    assert custom.registry.model_name == "m"
    assert (custom.alias, custom.poll_seconds, custom.registry_grace_seconds) == (
        "staging",
        2.5,
        0.0,
    )
    assert (custom.max_batch, custom.max_body_bytes, custom.api_key) == (50, 1000, "k")
    assert custom.coalesce_max_rows == 1


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STOCKOUT_POLL_SECONDS", "often"),
        ("STOCKOUT_POLL_SECONDS", "-1"),
        ("STOCKOUT_MAX_BATCH", "0"),
        ("STOCKOUT_MAX_BATCH", "1.5"),
        ("STOCKOUT_MAX_BODY_BYTES", "nan"),
        ("STOCKOUT_COALESCE_MAX_ROWS", "0"),
    ],
)
def test_bad_settings_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        load_serving_settings({name: value})


def test_limit_registry_retries_keeps_operator_values() -> None:
    from stockout_sk.serving import limit_registry_retries

    env = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "5"}
    limit_registry_retries(env)
    assert env["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "5"
    assert env["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "10"


def test_redact_uri_hides_passwords() -> None:
    assert redact_uri("http://user:pw@host:5000/x") == "http://user:***@host:5000/x"
    assert redact_uri("sqlite:////tmp/mlflow.db") == "sqlite:////tmp/mlflow.db"


# ----------------------------------------------------------------------------------------- frames
def test_to_frame_orders_columns_and_keeps_ids_as_strings() -> None:
    order = (
        "ItemCode",
        "BranchID",
        "Date",
        "SafetyStockLevel",
        "CurrentQuantity",
        "ReservedQuantity",
    )
    frame = to_frame([ROW, dict(ROW, BranchID="10")], order)
    assert list(frame) == list(order)
    assert frame["BranchID"].tolist() == ["007", "10"]
    assert frame["BranchID"].dtype == object
    assert frame["CurrentQuantity"].dtype == np.float64
    assert frame.shape == (2, 6)


def test_rule_baseline_is_current_below_safety() -> None:
    frame = to_frame(
        [dict(ROW, CurrentQuantity=q, SafetyStockLevel=s) for q, s in ((1, 2), (2, 2), (3, 2))],
        FIELDS,
    )
    assert rule_decision(frame["CurrentQuantity"], frame["SafetyStockLevel"]).tolist() == [1, 0, 0]


# --------------------------------------------------------------------------------------- stubs
class _Step:
    def __init__(self, names):
        self.feature_names_in_ = np.asarray(names, dtype=object)


class _Head:
    def __init__(self, names):
        self.names = names

    def get_feature_names_out(self):
        return np.asarray(self.names, dtype=object)


class _History:
    last_day_ = 19_814  # 2024-04-01

    def staleness_days(self, X):
        days = np.asarray(X["Date"], dtype="datetime64[D]").astype(np.int64)
        return np.clip(days - self.last_day_, 0, None)


class StubPipeline:
    """What serving needs of a fitted pipeline: predict_proba, steps by index and by name."""

    steps = (("calendar", None), ("history", None), ("hashing", None), ("classifier", None))

    def __init__(self, probability: float = 0.25, fail: BaseException | None = None):
        self.probability = probability
        self.fail = fail
        self.named_steps = {"history": _History()}
        self.calls = 0

    def __getitem__(self, key):
        if isinstance(key, slice):
            return _Head(["CurrentQuantity", "velocity", "hash_0", "hash_1"])
        return _Step(FIELDS)

    def predict_proba(self, X):
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        n = len(X["BranchID"])
        return np.column_stack([np.full(n, 1 - self.probability), np.full(n, self.probability)])


def _production(version: str, pipeline: Any = None) -> SimpleNamespace:
    pipeline = pipeline or StubPipeline()
    return SimpleNamespace(
        pipeline=pipeline,
        version=version,
        threshold=0.5,
        metadata=lambda: {"model_name": "m", "version": version, "run_id": f"run{version}"},
    )


class FakeRegistry:
    """The three registry calls the holder makes, scripted by the test."""

    def __init__(self):
        self.mode = "model"
        self.version: str | None = "1"
        self.down: Exception | None = None
        self.broken: set[str] = set()
        self.loads: list[str] = []

    def get_serving_mode(self, settings):
        if self.down:
            raise self.down
        return self.mode

    def production_version(self, settings, *, alias):
        if self.down:
            raise self.down
        return self.version

    def load_production(self, settings, *, alias):
        self.loads.append(self.version)
        if self.version in self.broken:
            raise OSError(f"artifact of version {self.version} missing")
        return _production(self.version)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _holder(registry: FakeRegistry, clock: Clock | None = None, **overrides) -> ModelHolder:
    settings = ServingSettings(
        registry=Settings(tracking_uri="sqlite:///x.db", model_name="m"), **overrides
    )
    return ModelHolder(settings, registry_api=registry, clock=clock or Clock())


# ---------------------------------------------------------------------------------------- predict
def test_predict_with_a_model() -> None:
    snapshot = model_snapshot(_production("3", StubPipeline(0.75)))
    scored = predict(snapshot, to_frame([ROW, dict(ROW, Date="2024-04-05")], snapshot.fields))
    assert (scored.source, scored.version, scored.reason) == (REGISTRY, "3", None)
    assert scored.probability.tolist() == [0.75, 0.75]
    assert scored.prediction.tolist() == [1, 1]
    assert scored.stale_days.tolist() == [0, 4]


@pytest.mark.parametrize(
    "fail", [ValueError("column 'CurrentQuantity' must be numeric"), KeyError("history")]
)
def test_a_failing_model_falls_back_for_the_request(caplog, fail: Exception) -> None:
    pipeline = StubPipeline()
    snapshot = model_snapshot(_production("3", pipeline))
    pipeline.fail = fail
    frame = to_frame([dict(ROW, CurrentQuantity=1, SafetyStockLevel=5)], FIELDS)
    with caplog.at_level(logging.ERROR, logger="stockout_sk.serving"):
        scored = predict(snapshot, frame)
    assert scored.source == RULE_BASELINE
    assert scored.prediction.tolist() == [1]
    name = type(fail).__name__
    assert f"model version 3 failed at predict time ({name}" in scored.reason
    assert f"({name}" in caplog.text  # logged, with the traceback


def test_a_non_finite_probability_falls_back() -> None:
    snapshot = model_snapshot(_production("3", StubPipeline()))
    snapshot = dataclasses.replace(snapshot, pipeline=StubPipeline(float("nan")))
    scored = predict(snapshot, to_frame([ROW], FIELDS))
    assert scored.source == RULE_BASELINE
    assert "non-finite" in scored.reason


def test_a_model_that_fails_its_warm_up_is_refused() -> None:
    with pytest.raises(RuntimeError, match="broken"):
        model_snapshot(_production("3", StubPipeline(fail=RuntimeError("broken"))))


def test_score_rows_explains_nothing_for_the_rule_baseline() -> None:
    snapshot = Snapshot(source=RULE_BASELINE, reason="no model")
    scored, reasons = score_rows(snapshot, to_frame([ROW, ROW], FIELDS), explain_top=3)
    assert reasons == [[], []]
    assert scored.reason == "no model"
    assert score_rows(snapshot, to_frame([ROW], FIELDS))[1] is None


def test_snapshots_are_immutable() -> None:
    snapshot = Snapshot(source=RULE_BASELINE, reason="x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        snapshot.version = "2"  # type: ignore[misc]


# ----------------------------------------------------------------------------------------- holder
def test_holder_loads_the_alias_and_swaps_on_change() -> None:
    registry = FakeRegistry()
    holder = _holder(registry)
    assert holder.snapshot.source == RULE_BASELINE  # before the first poll
    assert holder.refresh() is True
    first = holder.snapshot
    assert (first.source, first.version) == (REGISTRY, "1")
    assert holder.refresh() is False  # same version: nothing loaded again
    assert registry.loads == ["1"]
    registry.version = "2"
    assert holder.refresh() is True
    assert holder.snapshot.version == "2"
    assert first.version == "1"  # the old snapshot is untouched: in-flight requests keep it
    assert holder.status()["version"] == "2"


def test_holder_without_production_serves_the_rule_with_reason() -> None:
    registry = FakeRegistry()
    registry.version = None
    holder = _holder(registry)
    assert holder.refresh() is True
    fallback = holder.snapshot
    assert fallback.source == RULE_BASELINE
    assert "no version of 'm' holds alias 'production'" in fallback.reason
    # Polling again for the same reason changes nothing.
    assert holder.refresh() is False
    assert holder.snapshot is fallback


def test_serving_mode_rule_baseline_wins_over_a_production_model() -> None:
    registry = FakeRegistry()
    holder = _holder(registry)
    holder.refresh()
    registry.mode = "rule-baseline"
    holder.refresh()
    assert holder.snapshot.source == RULE_BASELINE
    assert "serving mode 'rule-baseline'" in holder.snapshot.reason
    registry.mode = "model"
    holder.refresh()
    assert (holder.snapshot.source, holder.snapshot.version) == (REGISTRY, "1")
    assert registry.loads == ["1"]  # back onto the version in memory, no reload


def test_registry_outage_within_grace_keeps_the_model_then_falls_back() -> None:
    registry, clock = FakeRegistry(), Clock()
    holder = _holder(registry, clock, registry_grace_seconds=60)
    holder.refresh()
    registry.down = ConnectionError("connection refused")
    clock.now = 30
    holder.refresh()
    assert holder.snapshot.source == REGISTRY
    assert "unreachable" in holder.status()["registry"]["last_error"]
    clock.now = 61
    holder.refresh()
    assert holder.snapshot.source == RULE_BASELINE
    assert "unreachable (ConnectionError: connection refused)" in holder.snapshot.reason
    registry.down = None
    clock.now = 62
    holder.refresh()
    assert (holder.snapshot.source, holder.snapshot.version) == (REGISTRY, "1")
    assert holder.status()["registry"]["last_error"] is None
    assert registry.loads == ["1"]


def test_registry_unreachable_at_start_serves_the_rule() -> None:
    registry = FakeRegistry()
    registry.down = OSError("no route to host")
    holder = _holder(registry, registry_grace_seconds=600)
    holder.refresh()
    assert holder.snapshot.source == RULE_BASELINE
    assert "unreachable" in holder.snapshot.reason


def test_a_version_that_cannot_load_keeps_the_current_model() -> None:
    registry = FakeRegistry()
    holder = _holder(registry)
    holder.refresh()
    registry.version = "2"
    registry.broken.add("2")
    holder.refresh()
    assert (holder.snapshot.source, holder.snapshot.version) == (REGISTRY, "1")
    assert "loading version 2 failed" in holder.status()["registry"]["last_error"]


def test_a_version_that_cannot_load_at_start_serves_the_rule() -> None:
    registry = FakeRegistry()
    registry.broken.add("1")
    holder = _holder(registry)
    holder.refresh()
    assert holder.snapshot.source == RULE_BASELINE
    assert "version 1 of 'm' (alias 'production') could not be loaded" in holder.snapshot.reason


def test_poller_thread_picks_up_a_new_version_and_stops() -> None:
    registry = FakeRegistry()
    holder = _holder(registry, poll_seconds=0.01)
    holder.start()
    try:
        assert holder.wait_first(10)
        assert holder.ready
        assert holder.snapshot.version == "1"
        registry.version = "2"
        swapped = threading.Event()
        for _ in range(1000):
            if holder.snapshot.version == "2":
                swapped.set()
                break
            swapped.wait(0.01)
        assert swapped.is_set()
    finally:
        holder.stop()
    assert not holder._thread.is_alive()
    with pytest.raises(RuntimeError, match="already"):
        holder.start()
