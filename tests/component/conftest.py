"""Shared fixtures of the component tests (real MLflow store, real Prefect, real HTTP)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect server and database for the whole session.

    Starting it costs 15–25 s on a busy machine, so tests share it; request this fixture (it is
    not autouse) in tests that run flows.
    """
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield
