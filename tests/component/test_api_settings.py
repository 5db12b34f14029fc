"""The API's settings are a FastAPI dependency: ``get_settings`` reads the environment once, and
``app.dependency_overrides[get_settings]`` replaces it for everything the app does — the lifespan
(registry, polling), the middleware (API key, body limit) and the endpoints (batch limit).

The registry is a closed loopback port, so the app serves the rule baseline without a store.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from api.dependencies import get_settings
from api.main import create_app
from api.schemas import StockRecord, StockRow
from stockout_sk.config import ServingSettings, Settings
from stockout_sk.contract import EXAMPLE_ROW, RAW_FIELDS

pytestmark = pytest.mark.component

ENV_KEY = "key-from-the-environment"
OVERRIDE_KEY = "key-from-the-override"


@pytest.fixture
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An environment with its own API key and batch limit; ``get_settings`` reads it anew."""
    monkeypatch.setenv("STOCKOUT_API_KEY", ENV_KEY)
    monkeypatch.setenv("STOCKOUT_MAX_BATCH", "10000")
    # A refused connection fails at once instead of after MLflow's retries.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_get_settings_reads_the_environment_once(fresh_settings: None) -> None:
    settings = get_settings()
    assert isinstance(settings, ServingSettings)
    assert (settings.api_key, settings.max_batch) == (ENV_KEY, 10_000)
    assert get_settings() is settings


def test_overridden_settings_are_the_ones_the_app_enforces(fresh_settings: None, helpers) -> None:
    registry = f"http://127.0.0.1:{helpers.free_port()}"
    overridden = ServingSettings(
        registry=Settings(tracking_uri=registry),
        api_key=OVERRIDE_KEY,
        max_batch=2,
        max_body_bytes=2048,
        poll_seconds=0,
    )
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: overridden
    row = dict(EXAMPLE_ROW)
    with helpers.serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        assert client.get("/health").status_code == 200
        for key in (None, ENV_KEY):
            headers = {} if key is None else {"X-API-Key": key}
            refused = client.post("/predict", json=row, headers=headers)
            assert refused.status_code == 401, key
            assert refused.headers["www-authenticate"] == "APIKey"
        client.headers["X-API-Key"] = OVERRIDE_KEY

        ready = client.get("/ready").json()
        assert (ready["ready"], ready["source"]) == (True, "rule-baseline")
        assert registry in ready["fallback_reason"]
        status = client.get("/model").json()
        assert status["registry"]["tracking_uri"] == registry
        assert status["registry"]["poll_seconds"] == 0

        answer = client.post("/predict", json=row)
        assert answer.status_code == 200, answer.text
        rule = int(row["CurrentQuantity"] < row["SafetyStockLevel"])
        assert (answer.json()["prediction"], answer.json()["source"]) == (rule, "rule-baseline")

        too_many = client.post("/predict/batch", json={"records": [row] * 3})
        assert too_many.status_code == 422
        assert too_many.json()["detail"] == [
            {"field": "records", "type": "too_long", "message": "at most 2 records per request"}
        ]
        assert too_many.json()["message"] == (
            "invalid request — records: 3 records, at most 2 per request (STOCKOUT_MAX_BATCH); "
            "split the batch"
        )
        too_large = client.post("/predict/batch", json={"records": [row] * 40})
        assert too_large.status_code == 413
        assert "the limit is 2048 bytes" in too_large.json()["detail"]
    # The override answered every lookup: the environment was never read.
    assert get_settings.cache_info().misses == 0


def test_request_schemas_carry_exactly_the_contract_fields() -> None:
    assert tuple(StockRow.model_fields) == RAW_FIELDS
    assert tuple(StockRecord.__annotations__) == RAW_FIELDS
