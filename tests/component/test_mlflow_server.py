"""MLflow as it runs in production: ``mlflow server`` on PostgreSQL, artifacts served over HTTP.

Every other test uses an in-process SQLite store; docker-compose.yml runs a tracking server on
PostgreSQL with ``--serve-artifacts``. Here both run for real on loopback, once per session:
a throwaway PostgreSQL cluster (Debian's ``postgresql`` package, in a temporary folder, run as
the ``postgres`` user when the suite runs as root) and ``mlflow server`` over it
(``postgresql+psycopg2://``, two workers, artifacts under a temporary folder). The API runs as
``uvicorn api.main:app`` in its own process, configured by environment variables only.

The tests run in file order and build on each other's registry state, as a deployment does:

1. train → register → promote → the API hot-swaps → a second version takes over → monitoring
   rolls back, and the API follows every move without a restart;
2. the registry goes down under a serving API — first PostgreSQL under a running MLflow server,
   then the MLflow server itself — and comes back: the API falls back to the rule baseline,
   says why, and recovers by itself;
3. two trainings register and decide at the same moment against the same server: no version is
   lost, no two decisions promote over the same production version, and ``@production`` never
   points at a version whose registration is not complete.

PostgreSQL comes from Debian (``make test`` installs it as root, see ``tools/system-deps``);
without it these tests skip, naming the command that installs it.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from stockout_sk.config import Settings
from stockout_sk.synth import generate_chain

pytestmark = pytest.mark.component

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MODEL = "stockout-classifier"
DB_USER = DB_NAME = "mlflow"
INSTALL_POSTGRESQL = (
    "`sudo apt-get install -y --no-install-recommends postgresql` (or `make system-deps`)"
)
#: The chain every training here uses: small, so that a flow run takes seconds.
CHAIN = {"branches": 3, "items": 15, "days": 120, "seed": 5}


# --------------------------------------------------------------------------------------------------
# PostgreSQL and the MLflow server
# --------------------------------------------------------------------------------------------------


def postgres_bindir() -> Path | None:
    """Where ``initdb`` and ``postgres`` are: on PATH, else Debian's versioned folder (newest)."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not found:
        return None
    newest = max(found, key=lambda p: int(re.search(r"/postgresql/(\d+)/", p).group(1)))
    return Path(newest).parent


@dataclass
class Postgres:
    """A throwaway PostgreSQL cluster on loopback; :meth:`start` and :meth:`stop` it at will."""

    bindir: Path
    root: Path
    port: int
    user: str | None  # the OS user the server runs as (None: this process's)
    process: subprocess.Popen | None = None
    starts: int = 0

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def uri(self) -> str:
        return f"postgresql+psycopg2://{DB_USER}@127.0.0.1:{self.port}/{DB_NAME}"

    def run(self, *args: str) -> None:
        done = subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            user=self.user,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"{args[0]} failed:\n{done.stdout}\n{done.stderr}"

    def start(self, helpers: Any) -> None:
        import psycopg2

        self.starts += 1
        log = (self.root / f"postgres-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            [
                str(self.bindir / "postgres"),
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-k",
                str(self.root),
                "-c",
                "listen_addresses=127.0.0.1",
                # A throwaway cluster: durability buys nothing here, start-up speed does.
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ],
            user=self.user,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

        def accepts() -> bool:
            if self.process.poll() is not None:
                pytest.fail(f"postgres exited: {self.log_tail()}")
            try:
                psycopg2.connect(
                    host="127.0.0.1",
                    port=self.port,
                    user=DB_USER,
                    dbname="postgres",
                    connect_timeout=2,
                ).close()
            except psycopg2.OperationalError:
                return False
            return True

        helpers.wait_until(accepts, 60, "PostgreSQL to accept connections", interval=0.1)

    def stop(self) -> None:
        """Fast shutdown (SIGINT): open sessions are cut, as when a database server goes away."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            self.process.wait(60)
        self.process = None

    def log_tail(self) -> str:
        logs = sorted(self.root.glob("postgres-*.log"))
        return logs[-1].read_text(errors="replace")[-3000:] if logs else ""


@dataclass
class MlflowServer:
    """``mlflow server`` on :class:`Postgres`, with served artifacts; restartable on its port."""

    postgres: Postgres
    artifacts: Path
    logs: Path
    port: int
    process: subprocess.Popen | None = None
    starts: int = 0
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, helpers: Any) -> None:
        self.starts += 1
        command = [
            str(BIN / "mlflow"), "server", "--backend-store-uri", self.postgres.uri,
            "--serve-artifacts", "--artifacts-destination", str(self.artifacts),
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", "2",
        ]  # fmt: skip
        self.process = helpers.start_server(
            command, self.env, f"{self.url}/health", self.logs / f"mlflow-{self.starts}.log"
        )

    def stop(self, helpers: Any) -> None:
        if self.process is not None:
            helpers.stop_process_group(self.process)
        self.process = None


def clean_env() -> dict[str, str]:
    """This environment without MLflow/stockout settings, with the venv's tools first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "STOCKOUT_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="session")
def postgres(helpers: Any) -> Iterator[Postgres]:
    """One PostgreSQL cluster for the session, with an empty database ``mlflow``."""
    bindir = postgres_bindir()
    if bindir is None or not (bindir / "postgres").exists():
        pytest.skip(f"PostgreSQL is not installed: {INSTALL_POSTGRESQL}")
    # Not under pytest's temporary tree: that is private to this user, and as root the server
    # runs as `postgres` (it refuses to run as root), which must own its folder.
    root = Path(tempfile.mkdtemp(prefix="stockout-postgres-"))
    user = None
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip(f"no `postgres` user to run PostgreSQL as: {INSTALL_POSTGRESQL}")
        os.chown(root, account.pw_uid, account.pw_gid)
        user = "postgres"
    server = Postgres(bindir=bindir, root=root, port=helpers.free_port(), user=user)
    try:
        server.run(
            "initdb",
            "-D",
            str(server.data),
            "-U",
            DB_USER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        server.start(helpers)
        import psycopg2

        connection = psycopg2.connect(
            host="127.0.0.1", port=server.port, user=DB_USER, dbname="postgres"
        )
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {DB_NAME}")
        connection.close()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def mlflow_server(
    postgres: Postgres, helpers: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MlflowServer]:
    """``mlflow server`` on the session's PostgreSQL, artifacts served from a temporary folder."""
    root = tmp_path_factory.mktemp("mlflow-server")
    env = clean_env()
    # MLflow 3's job runner (GenAI scorers) starts worker processes classic ML has no use for.
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    server = MlflowServer(postgres, root / "artifacts", root, helpers.free_port(), env=env)
    server.start(helpers)
    try:
        yield server
    finally:
        server.stop(helpers)


# --------------------------------------------------------------------------------------------------
# Data, settings and the API process
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chains(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The training chain and a later period with every safety stock tripled (a forced shift)."""
    root = tmp_path_factory.mktemp("server-chains")
    generate_chain(root / "train", **CHAIN)
    generate_chain(root / "later", **{**CHAIN, "days": 40}, start="2024-04-30")
    current = pd.read_csv(root / "later" / "stock_current.csv", dtype=str, keep_default_na=False)
    current["SafetyStockLevel"] = (current["SafetyStockLevel"].astype(float) * 3).round(1)
    current.to_csv(root / "later" / "stock_current.csv", index=False)
    return {"train": root / "train", "shifted": root / "later"}


@pytest.fixture(scope="module")
def settings(mlflow_server: MlflowServer, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        tracking_uri=mlflow_server.url,
        model_name=MODEL,
        artifacts_dir=tmp_path_factory.mktemp("server-artifacts"),
    )


def request_row(chain_dir: Path) -> dict[str, Any]:
    """The first snapshot row of a chain as a ``POST /predict`` body."""
    row = pd.read_csv(chain_dir / "stock_current.csv", dtype=str).iloc[0]
    return {
        "BranchID": row.BranchID,
        "ItemCode": row.ItemCode,
        "Date": row.LastUpdatedAt[:10],
        "CurrentQuantity": float(row.CurrentQuantity),
        "ReservedQuantity": float(row.ReservedQuantity),
        "SafetyStockLevel": float(row.SafetyStockLevel),
    }


@contextmanager
def api_process(helpers: Any, tracking_uri: str, log: Path) -> Iterator[str]:
    """``uvicorn api.main:app`` against ``tracking_uri``: fast polling, no grace, no retries."""
    port = helpers.free_port()
    env = {
        **clean_env(),
        "PYTHONPATH": str(REPO),
        "MLFLOW_TRACKING_URI": tracking_uri,
        "STOCKOUT_POLL_SECONDS": "0.5",
        "STOCKOUT_REGISTRY_GRACE_SECONDS": "0",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "5",
    }
    command = [str(BIN / "python"), "-m", "uvicorn", "api.main:app",
               "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with helpers.subprocess_server(command, env, f"{url}/ready", log):
        yield url


@contextmanager
def tracking(uri: str) -> Iterator[None]:
    """MLflow's global tracking URI set to ``uri`` for a block (``models:/`` URIs resolve there)."""
    import mlflow

    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)


def served(url: str, row: dict[str, Any]) -> dict[str, Any]:
    return httpx.post(f"{url}/predict", json=row, timeout=10).json()


def wait_for_version(helpers: Any, url: str, row: dict[str, Any], version: str | None, what: str):
    """Poll ``POST /predict`` until it answers from ``version`` (None: the rule baseline)."""

    def answered() -> dict[str, Any] | None:
        body = served(url, row)
        return body if body["model_version"] == version else None

    return helpers.wait_until(answered, 60, what, interval=0.2)


# --------------------------------------------------------------------------------------------------
# 1. The lifecycle against the server
# --------------------------------------------------------------------------------------------------


def test_train_promote_hot_swap_and_roll_back_on_a_postgres_backed_server(
    prefect_harness: None,
    mlflow_server: MlflowServer,
    postgres: Postgres,
    settings: Settings,
    chains: dict[str, Path],
    helpers: Any,
    tmp_path: Path,
) -> None:
    import mlflow
    import psycopg2

    from flows.run_pipeline import run
    from stockout_sk import registry
    from stockout_sk.monitoring import run_cme

    row = request_row(chains["train"])
    rule = int(row["CurrentQuantity"] < row["SafetyStockLevel"])
    with api_process(helpers, mlflow_server.url, tmp_path / "api.log") as api:
        # No model registered yet: the rule baseline answers and says why.
        body = served(api, row)
        assert (body["source"], body["prediction"]) == ("rule-baseline", rule), body
        assert "production" in body["fallback_reason"]

        # The real flow, against the server, twice on the same data: each run registers the
        # evaluated version, promotes it (the second ties with the first), and deploys it
        # refitted on every matured row as a new version holding @production.
        deployed = []
        for run_number in (1, 2):
            summary = run(
                data_dir=str(chains["train"]),
                out_dir=str(tmp_path / f"run-{run_number}"),
                model_overrides={"n_estimators": 30},
                min_f1=0.2,
                model_name=MODEL,
                tracking_uri=mlflow_server.url,
            )
            assert summary["decision"] == "promoted", summary
            assert summary["deployed"]["refit_of"] == summary["version"], summary
            version = summary["deployed"]["version"]
            assert summary["aliases"]["production"] == version
            deployed.append(version)
            # The running API picks the new production version up by itself.
            body = wait_for_version(helpers, api, row, version, f"the API to serve v{version}")
            assert body["source"] == "registry"
            with tracking(mlflow_server.url):
                pipeline = mlflow.sklearn.load_model(f"models:/{MODEL}/{version}")
            expected_proba = float(pipeline.predict_proba(pd.DataFrame([row]))[0, 1])
            assert body["probability"] == pytest.approx(expected_proba, abs=1e-9)
        assert deployed == ["2", "4"]

        # Production is on PostgreSQL and the artifacts went through the server to its folder.
        client = mlflow.MlflowClient(tracking_uri=mlflow_server.url)
        info = client.get_model_version(MODEL, deployed[-1])
        run_info = client.get_run(info.run_id).info
        assert run_info.artifact_uri.startswith("mlflow-artifacts:"), run_info.artifact_uri
        stored = list(mlflow_server.artifacts.rglob("MLmodel"))
        assert len(stored) >= 4, stored
        connection = psycopg2.connect(
            host="127.0.0.1", port=postgres.port, user=DB_USER, dbname=DB_NAME
        )
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT version FROM model_versions WHERE name = %s ORDER BY 1", [MODEL]
                )
                assert [v for (v,) in cursor.fetchall()] == [1, 2, 3, 4]
                cursor.execute(
                    "SELECT version FROM registered_model_aliases WHERE name = %s AND alias = %s",
                    [MODEL, "production"],
                )
                assert cursor.fetchall() == [(4,)]
        finally:
            connection.close()
        shown = {v.version: v for v in registry.show(settings).versions}
        assert shown["4"].previous_production == deployed[0]

        # Monitoring on the shifted period rolls production back; the API follows.
        report = run_cme(chains["shifted"], settings=settings, out_dir=tmp_path / "monitoring")
        assert (report.decision, report.action, report.target_version) == (
            "rollback",
            "rollback",
            deployed[0],
        ), report.reasons
        assert registry.production_version(settings) == deployed[0]
        body = wait_for_version(
            helpers, api, row, deployed[0], "the API to follow the rollback to the first version"
        )
        assert body["source"] == "registry"
        # The report went to the server's artifact store too.
        with tracking(mlflow_server.url):
            listed = mlflow.artifacts.list_artifacts(
                run_id=report.mlflow_run_id, artifact_path="report"
            )
        names = {Path(a.path).name for a in listed}
        assert "monitoring_report.html" in names


# --------------------------------------------------------------------------------------------------
# 2. The registry goes down under a serving API, and comes back
# --------------------------------------------------------------------------------------------------


def test_registry_down_and_back_mid_serving(
    mlflow_server: MlflowServer,
    postgres: Postgres,
    settings: Settings,
    chains: dict[str, Path],
    helpers: Any,
    tmp_path: Path,
) -> None:
    from stockout_sk import registry

    production = registry.production_version(settings)
    assert production is not None, "the lifecycle test above leaves a production version"
    row = request_row(chains["train"])
    rule = int(row["CurrentQuantity"] < row["SafetyStockLevel"])

    def ready(api: str) -> dict[str, Any]:
        return httpx.get(f"{api}/ready", timeout=10).json()

    def falls_back(api: str, what: str) -> dict[str, Any]:
        body = wait_for_version(helpers, api, row, None, what)
        assert (body["source"], body["prediction"]) == ("rule-baseline", rule), body
        assert body["fallback_reason"], body
        return body

    with api_process(helpers, mlflow_server.url, tmp_path / "api.log") as api:
        wait_for_version(helpers, api, row, production, "the first load")

        # The database under a running MLflow server goes away: MLflow answers errors.
        postgres.stop()
        body = falls_back(api, "the fallback with PostgreSQL down")
        assert mlflow_server.url in body["fallback_reason"]
        assert httpx.get(f"{api}/health", timeout=5).status_code == 200
        postgres.start(helpers)
        wait_for_version(helpers, api, row, production, "the recovery after PostgreSQL restarts")
        assert ready(api)["source"] == "registry"

        # The MLflow server itself goes away, then comes back on the same address.
        mlflow_server.stop(helpers)
        body = falls_back(api, "the fallback with MLflow down")
        assert "unreachable" in body["fallback_reason"]
        model = httpx.get(f"{api}/model", timeout=5).json()
        assert model["registry"]["last_error"]
        mlflow_server.start(helpers)
        body = wait_for_version(helpers, api, row, production, "the recovery after MLflow restarts")
        assert body["source"] == "registry"
        assert httpx.get(f"{api}/model", timeout=5).json()["registry"]["last_error"] is None


# --------------------------------------------------------------------------------------------------
# 3. Two trainings at once against the same server
# --------------------------------------------------------------------------------------------------

#: One training process: fit on the chain, wait at the barrier, then register and decide at the
#: same moment as the other one. Prints its result as one JSON line.
TRAINING_SCRIPT = """
import json, sys, time
from pathlib import Path
from stockout_sk import registry
from stockout_sk.config import ModelConfig, Settings
from stockout_sk.ingest import load_chain
from stockout_sk.training import split_xy, train_and_evaluate

chain_dir, tracking_uri, barrier, me = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4]
settings = Settings(tracking_uri=tracking_uri, model_name="stockout-classifier")
chain = load_chain(chain_dir)
result = train_and_evaluate(chain, ModelConfig(n_estimators=30), checkpoint_dir=None)
(barrier / me).touch()
deadline = time.monotonic() + 300
while len(list(barrier.iterdir())) < 2:
    if time.monotonic() > deadline:
        sys.exit("the other training never reached the barrier")
    time.sleep(0.01)
logged = registry.log_training(result, chain.report, settings)
X, y = split_xy(result.prepared.holdout)
baselines = {name: block["f1"] for name, block in result.report.baselines.items()}
decision = registry.decide_promotion(logged.version, result.report.model["f1"], X, y, settings,
                                     baselines=baselines, validation=result.fitted.validation,
                                     min_f1=0.2)
print(json.dumps({"version": logged.version, **decision.to_dict()}))
"""


@dataclass
class Race:
    """Two trainings that registered and decided at the same moment, and what was seen."""

    before: set[str]
    production_before: str
    results: list[dict[str, Any]]
    #: (version, status, tags) of every version ``@production`` pointed at during the race.
    seen: list[tuple[str, str, dict[str, str]]]


@pytest.fixture(scope="module")
def race(
    mlflow_server: MlflowServer,
    settings: Settings,
    chains: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Race:
    import mlflow

    from stockout_sk import registry

    client = mlflow.MlflowClient(tracking_uri=mlflow_server.url)
    before = {v.version for v in client.search_model_versions(f"name = '{MODEL}'")}
    production_before = registry.production_version(settings)
    assert production_before is not None, "the tests above leave a production version"
    barrier = tmp_path_factory.mktemp("barrier")

    # Watch @production the whole time.
    seen: list[tuple[str, str, dict[str, str]]] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            try:
                version = client.get_model_version_by_alias(MODEL, "production")
            except Exception as error:  # a watcher that dies must fail the test, not hang
                seen.append(("error", repr(error), {}))
                return
            seen.append((version.version, version.status, dict(version.tags)))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, name="alias-watcher", daemon=True)
    watcher.start()
    env = {**clean_env(), "PYTHONPATH": str(REPO)}
    processes = [
        subprocess.Popen(
            [
                str(BIN / "python"),
                "-c",
                TRAINING_SCRIPT,
                str(chains["train"]),
                mlflow_server.url,
                str(barrier),
                name,
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    outputs = [process.communicate(timeout=300) for process in processes]
    stop.set()
    watcher.join(10)
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr[-3000:]
    results = [json.loads(stdout.strip().splitlines()[-1]) for stdout, _ in outputs]
    errors = [s for s in seen if s[0] == "error"]
    assert not errors, errors
    assert seen, "the watcher saw nothing"
    return Race(before, production_before, results, seen)


def test_two_concurrent_trainings_lose_no_version(race: Race, mlflow_server: MlflowServer) -> None:
    import mlflow

    from stockout_sk.vocabulary import Tag

    client = mlflow.MlflowClient(tracking_uri=mlflow_server.url)
    after = {v.version for v in client.search_model_versions(f"name = '{MODEL}'")}
    new = sorted(after - race.before, key=int)
    assert sorted((r["version"] for r in race.results), key=int) == new
    assert len(new) == 2
    for version in new:
        info = client.get_model_version(MODEL, version)
        assert info.status == "READY", (version, info.status)
        assert info.tags.get(Tag.THRESHOLD), info.tags
        assert info.tags.get(Tag.DECISION) in ("promoted", "kept-staging"), info.tags
        with tracking(mlflow_server.url):
            assert mlflow.artifacts.list_artifacts(f"models:/{MODEL}/{version}"), version


def test_production_never_points_at_a_half_registered_version(race: Race) -> None:
    """Every version ``@production`` pointed at during the race was READY, with the tags the
    API needs to serve it (threshold, trained-at) already written."""
    from stockout_sk.vocabulary import Tag

    for version, status, tags in race.seen:
        assert status == "READY", (version, status)
        assert tags.get(Tag.THRESHOLD), (version, tags)
        assert tags.get(Tag.TRAINED_AT), (version, tags)


# Both decisions read production, re-score it and move the alias under the registry's lease
# (registry.moves_lock: on a server store a registered model created as a compare-and-set), so
# the second sees the first one's move; the decision is recorded before the alias moves.
def test_two_concurrent_decisions_promote_at_most_once_over_a_version(
    race: Race, settings: Settings
) -> None:
    from stockout_sk import registry
    from stockout_sk.vocabulary import Tag

    promoted = [r for r in race.results if r["decision"] == "promoted"]
    replaced = [r["previous_production"] for r in promoted]
    assert len(replaced) == len(set(replaced)), (
        f"both trainings promoted over production version {replaced[0]}: a lost update "
        f"(decisions: {race.results})"
    )
    # The alias ends on the last version promoted, following the recorded moves.
    moves = {r["previous_production"]: r["version"] for r in promoted}
    current = race.production_before
    while current in moves:
        current = moves[current]
    assert registry.production_version(settings) == current, race.results
    # And it moved only to versions whose promotion was already recorded.
    for version, _, tags in race.seen:
        if version != race.production_before:
            assert tags.get(Tag.DECISION) == "promoted", (
                f"@production pointed at version {version} before its promotion was recorded"
            )
