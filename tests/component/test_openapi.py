"""The OpenAPI document tells the truth, and the operations endpoints are guarded.

* schemathesis, every check, against the real app on loopback (uvicorn, a registered model, an
  API key): every answer matches the document — 422 bodies, status codes, headers — and every
  request the document calls valid is accepted. A fixed number of examples per operation and a
  fixed seed: the same ~430 cases every run, in seconds (no ``--max-time``: under it
  schemathesis keeps fuzzing until the budget is spent).
* ``Date`` is declared as an ISO date or timestamp: ``""`` fails the schema, not only the API.
* ``POST /model/reload`` needs the key when one is set and runs at most once per
  ``STOCKOUT_RELOAD_MIN_SECONDS`` (429 with ``Retry-After``).
* ``GET /model`` never shows the store's credentials.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import jsonschema
import pytest

pytestmark = pytest.mark.component

KEY = "test-key-" + "x" * 24
BIN = Path(sys.executable).parent
#: Cases per operation in the fuzzing phase (schemathesis's default). With the examples and
#: coverage phases and this seed: about 430 cases, every operation answering 200 and, where
#: documented, 401, 422 and 429. Each bug it guards against, put back, fails it already at 25:
#: a schema that accepts a '' Date, an ID of only U+001C or U+0085 (whitespace to Python, not
#: to the schema's ``\s``), FastAPI's undeclared 422 body.
EXAMPLES = 100


def test_schemathesis_finds_nothing(serving_store, run_api, tmp_path: Path) -> None:
    settings = serving_store.serving_settings(api_key=KEY, poll_seconds=0)
    with run_api(settings) as url:
        done = subprocess.run(
            [
                str(BIN / "schemathesis"),
                "run",
                f"{url}/openapi.json",
                "--header",
                f"X-API-Key: {KEY}",
                "--checks",
                "all",
                "--max-examples",
                str(EXAMPLES),
                "--seed",
                "20261205",
                "--phases",
                "examples,coverage,fuzzing",
                "--generation-database",
                "none",
                "--no-color",
                "--report",
                "junit",
                "--report-dir",
                str(tmp_path),
            ],
            cwd=tmp_path,  # schemathesis keeps a cache folder where it runs
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "6 selected / 6 total" in done.stdout
    assert " failed" not in done.stdout.split("SUMMARY")[-1]


def test_the_document_declares_the_real_error_bodies_and_date_forms(serving_store, run_api) -> None:
    with run_api(serving_store.serving_settings(poll_seconds=0)) as url:
        document = httpx.get(f"{url}/openapi.json", timeout=30).json()
    components = document["components"]["schemas"]
    assert "HTTPValidationError" not in components  # FastAPI's default 422, which we never send
    for path in ("/predict", "/predict/batch"):
        invalid = document["paths"][path]["post"]["responses"]["422"]
        ref = invalid["content"]["application/json"]["schema"]["$ref"]
        assert ref == "#/components/schemas/InvalidRequest"
    assert set(components["InvalidRequest"]["required"]) == {"message", "detail"}
    assert set(components["Problem"]["required"]) == {"field", "type", "message"}
    date = components["StockRow"]["properties"]["Date"]
    checker = jsonschema.Draft202012Validator(date, format_checker=jsonschema.FormatChecker())
    assert not checker.is_valid("")
    assert checker.is_valid("2024-07-28")
    assert not checker.is_valid("not a date")
    # No key configured: the document declares no security (every endpoint is open).
    assert "securitySchemes" not in document["components"]


def test_reload_needs_the_key_and_is_rate_limited(serving_store, run_api) -> None:
    settings = serving_store.serving_settings(api_key=KEY, poll_seconds=0, reload_min_seconds=30)
    with run_api(settings) as url, httpx.Client(base_url=url, timeout=60) as client:
        assert client.post("/model/reload").status_code == 401
        assert client.post("/model/reload", headers={"X-API-Key": "wrong"}).status_code == 401
        client.headers["X-API-Key"] = KEY
        first = client.post("/model/reload")
        assert first.status_code == 200, first.text
        assert first.json()["model"]["version"] == "1"
        again = client.post("/model/reload")
        assert again.status_code == 429
        assert 1 <= int(again.headers["Retry-After"]) <= 30
        assert "STOCKOUT_RELOAD_MIN_SECONDS" in again.json()["detail"]
        # Scoring is not rate-limited.
        assert client.post("/predict", json=serving_store.rows[0]).status_code == 200
        document = client.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["APIKey"]["name"] == "X-API-Key"
    assert document["paths"]["/predict"]["post"]["security"] == [{"APIKey": []}]
    assert "security" not in document["paths"]["/health"]["get"]
    assert (
        "Retry-After" in document["paths"]["/model/reload"]["post"]["responses"]["429"]["headers"]
    )


def test_model_status_never_shows_the_stores_credentials(run_api) -> None:
    from stockout_sk.config import ServingSettings, Settings

    secret_uri = "http://operator:hunter2@127.0.0.1:9/?token=t0ken&experiment=7"
    settings = ServingSettings(
        registry=Settings(tracking_uri=secret_uri),
        poll_seconds=0,
        registry_grace_seconds=0,
        startup_wait_seconds=60,
    )
    with run_api(settings) as url:
        status = httpx.get(f"{url}/model", timeout=60)
        ready = httpx.get(f"{url}/ready", timeout=60)
    for text in (status.text, ready.text):
        assert "hunter2" not in text
        assert "t0ken" not in text
    uri = status.json()["registry"]["tracking_uri"]
    assert uri == "http://operator:***@127.0.0.1:9/?token=***&experiment=7"
