"""Latency and throughput of ``POST /predict`` against ``mlflow models serve``, side by side.

Both servers serve the **same registered model** (``models:/<name>@production``) from the same
store, each as one uvicorn worker in its own process on loopback, both running for the whole
measurement; the **same client** (asyncio, keep-alive connections; a minimal HTTP/1.1 client by
default, httpx with ``--client httpx``) sends the same single-row requests to each with the same
concurrency, in alternating rounds so that a change of the machine's load weighs on both alike.
A third server, ours with coalescing off (``STOCKOUT_COALESCE_MAX_ROWS=1``: every request
scored alone), shows what scoring concurrent requests together (:mod:`stockout_sk.coalescing`)
buys. Printed:

* single row — p50 / p99 latency (ms) and throughput (requests/s) of all three, the ratios (and
  the latency of one request at a time), and the mean rows per pipeline call;
* batch — rows/s of ``POST /predict/batch`` with 10,000-row batches (and of ``mlflow models
  serve`` with the same 10,000 rows in ``dataframe_records``, for reference);
* the load average before and after: client and servers share the machine, so the numbers are
  only comparable within one run.

Without ``--tracking-uri`` a model is trained first on a simulated chain (the ``make
sample-data`` shape, default model settings) into a temporary store.

Usage::

    .venv/bin/python benchmarks/bench_api.py [--requests 2000] [--concurrency 8] [--rounds 4]
        [--batches 5] [--batch-rows 10000] [--client raw|httpx] [--tracking-uri URI --data DIR]

Targets (issue 5): p50 ≤ 5 ms, p99 ≤ 20 ms, throughput ≥ 2× ``mlflow models serve``; batch
≥ 100,000 rows/s. The script reports them; it exits 0 either way (the machine may be busy).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MODEL_NAME = "stockout-classifier"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def train_model(workdir: Path) -> tuple[str, list[dict[str, Any]]]:
    """Train and promote one model on a simulated chain; return its store and request rows."""
    from stockout_sk import registry
    from stockout_sk.config import ModelConfig, Settings
    from stockout_sk.ingest import load_chain
    from stockout_sk.synth import generate_chain
    from stockout_sk.training import train_and_evaluate

    data = workdir / "chain"
    generate_chain(data, branches=6, items=40, days=240, seed=7)
    chain = load_chain(data)
    result = train_and_evaluate(chain, ModelConfig(), checkpoint_dir=None)
    uri = f"sqlite:///{workdir / 'mlflow.db'}"
    settings = Settings(tracking_uri=uri, model_name=MODEL_NAME)
    logged = registry.log_training(result, chain.report, settings)
    registry.promote(logged.version, settings, reason="benchmark")
    return uri, request_rows(chain)


def request_rows(chain: Any) -> list[dict[str, Any]]:
    """Every branch×item of ``stock_current`` as of its snapshot date, as a client sends it."""
    current = chain.stock_current
    return [
        {
            "BranchID": str(r.BranchID),
            "ItemCode": str(r.ItemCode),
            "Date": r.LastUpdatedAt.strftime("%Y-%m-%d"),
            "CurrentQuantity": float(r.CurrentQuantity),
            "ReservedQuantity": float(r.ReservedQuantity),
            "SafetyStockLevel": float(r.SafetyStockLevel),
        }
        for r in current.itertuples(index=False)
    ]


@contextmanager
def server(command: list[str], env: dict[str, str], port: int, probe: str, log: Path):
    """Run a server process until the block ends; wait (bounded) for ``probe`` to answer 200."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, cwd=REPO, stdout=out, stderr=out)
        try:
            deadline = time.monotonic() + 180
            while True:
                if process.poll() is not None:
                    raise RuntimeError(
                        f"{command[0]} exited; see {log}:\n{log.read_text()[-2000:]}"
                    )
                try:
                    if httpx.get(f"http://127.0.0.1:{port}{probe}", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{command[0]} did not answer {probe} within 180 s; {log}")
                time.sleep(0.2)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


class RawConnection:
    """A minimal HTTP/1.1 keep-alive client: pre-built request bytes, Content-Length responses.

    The client shares the machine with the server it measures. httpx spends about a millisecond
    of CPU per request, which on a 2-core machine throttles both servers alike and squeezes
    their ratio; this client spends a few tens of microseconds. Both servers answer with
    ``Content-Length`` (uvicorn does for every non-streaming response).
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        header = await self.reader.readuntil(b"\r\n\r\n")
        status = int(header.split(b" ", 2)[1])
        length = 0
        for line in header.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


async def hammer_raw(
    url: str, bodies: list[bytes], total: int, concurrency: int, warmup: int
) -> dict[str, Any]:
    """Like :func:`hammer`, with one :class:`RawConnection` per concurrent worker."""
    parts = httpx.URL(url)
    connections = [RawConnection(parts.host, parts.port) for _ in range(concurrency)]
    for i in range(warmup):
        status, body = await connections[i % concurrency].post(parts.path, bodies[i % len(bodies)])
        if status != 200:
            raise RuntimeError(f"{url} answered {status}: {body[:300]!r}")
    latencies: list[float] = []
    counter = iter(range(total))

    async def worker(connection: RawConnection) -> None:
        for i in counter:
            start = time.perf_counter()
            status, body = await connection.post(parts.path, bodies[i % len(bodies)])
            latencies.append(time.perf_counter() - start)
            if status != 200:
                raise RuntimeError(f"{url} answered {status}: {body[:300]!r}")

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in connections))
    elapsed = time.perf_counter() - started
    for connection in connections:
        await connection.close()
    return {"latencies": latencies, "elapsed": elapsed}


def stats(rounds: list[dict[str, Any]]) -> dict[str, float]:
    """p50/p99 over every request of every round; throughput = requests / time under load."""
    latencies = sorted(x for r in rounds for x in r["latencies"])
    elapsed = sum(r["elapsed"] for r in rounds)
    return {
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "rps": len(latencies) / elapsed,
    }


async def hammer(
    url: str, bodies: list[bytes], total: int, concurrency: int, warmup: int
) -> dict[str, Any]:
    """Send ``total`` POSTs with ``concurrency`` in flight (httpx); latency and throughput."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"content-type": "application/json"}
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        for i in range(warmup):
            (
                await client.post(url, content=bodies[i % len(bodies)], headers=headers)
            ).raise_for_status()
        latencies: list[float] = []
        counter = iter(range(total))

        async def worker() -> None:
            for i in counter:
                start = time.perf_counter()
                response = await client.post(url, content=bodies[i % len(bodies)], headers=headers)
                latencies.append(time.perf_counter() - start)
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {"latencies": latencies, "elapsed": elapsed}


def batch_rate(url: str, body: bytes, rows: int, batches: int) -> dict[str, float]:
    """Rows/s of sequential batch requests (median batch time), after one warm-up batch."""
    times = []
    with httpx.Client(timeout=300) as client:
        headers = {"content-type": "application/json"}
        client.post(url, content=body, headers=headers).raise_for_status()
        for _ in range(batches):
            start = time.perf_counter()
            client.post(url, content=body, headers=headers).raise_for_status()
            times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return {"batch_s": median, "rows_per_s": rows / median}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="single-row requests per server")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--rounds", type=int, default=4, help="alternating rounds per server (default 4)"
    )
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--batch-rows", type=int, default=10_000)
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="single-row client: a minimal keep-alive HTTP/1.1 client (default) or httpx",
    )
    parser.add_argument("--tracking-uri", help="use this store's production model (no training)")
    parser.add_argument("--data", help="with --tracking-uri: chain folder for request rows")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()
    workdir = Path(tempfile.mkdtemp(prefix="bench-api-"))
    try:
        if args.tracking_uri:
            from stockout_sk.ingest import load_chain

            if not args.data:
                parser.error("--tracking-uri needs --data (a chain folder for request rows)")
            uri, rows = args.tracking_uri, request_rows(load_chain(args.data))
        else:
            print("training a model on a simulated chain ...", file=sys.stderr, flush=True)
            uri, rows = train_model(workdir)
        bodies = [json.dumps(r).encode() for r in rows]
        big = [rows[i % len(rows)] for i in range(args.batch_rows)]
        env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": uri,
            "STOCKOUT_POLL_SECONDS": "30",
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        env.pop("STOCKOUT_API_KEY", None)
        load = hammer_raw if args.client == "raw" else hammer

        ours_port, alone_port, mlflow_port = free_port(), free_port(), free_port()

        def uvicorn_cmd(port: int) -> list[str]:
            return [
                str(BIN / "python"), "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1",
                "--port", str(port), "--workers", "1",
            ]  # fmt: skip

        mlflow_cmd = [
            str(BIN / "mlflow"), "models", "serve", "-m", f"models:/{MODEL_NAME}@production",
            "--env-manager", "local", "-h", "127.0.0.1", "-p", str(mlflow_port), "-w", "1",
        ]  # fmt: skip
        ours_url = f"http://127.0.0.1:{ours_port}"
        alone_url = f"http://127.0.0.1:{alone_port}"
        mlflow_url = f"http://127.0.0.1:{mlflow_port}"
        mlflow_bodies = [json.dumps({"dataframe_records": [r]}).encode() for r in rows]
        targets = {
            "api": (f"{ours_url}/predict", bodies),
            "alone": (f"{alone_url}/predict", bodies),
            "mlflow": (f"{mlflow_url}/invocations", mlflow_bodies),
        }
        batches = {
            "api": (f"{ours_url}/predict/batch", json.dumps({"records": big}).encode()),
            "mlflow": (
                f"{mlflow_url}/invocations",
                json.dumps({"dataframe_records": big}).encode(),
            ),
        }
        # Both servers run at once and are measured in alternating rounds, so a change in the
        # machine's load during the run weighs on both alike.
        with (
            server(uvicorn_cmd(ours_port), env, ours_port, "/ready", workdir / "api.log"),
            server(
                uvicorn_cmd(alone_port),
                {**env, "STOCKOUT_COALESCE_MAX_ROWS": "1"},
                alone_port,
                "/ready",
                workdir / "alone.log",
            ),
            server(mlflow_cmd, env, mlflow_port, "/ping", workdir / "mlflow.log"),
        ):
            per_round = max(1, args.requests // args.rounds)
            rounds: dict[str, list[dict[str, Any]]] = {
                name: [] for name in targets.keys() | {f"{n}_c1" for n in targets}
            }
            for index in range(args.rounds):
                for name, (url, payloads) in targets.items():
                    warmup = args.warmup if index == 0 else 0
                    rounds[name].append(
                        asyncio.run(load(url, payloads, per_round, args.concurrency, warmup))
                    )
                    rounds[f"{name}_c1"].append(
                        asyncio.run(load(url, payloads, max(1, per_round // 4), 1, 0))
                    )
            results = {name: stats(measured) for name, measured in rounds.items()}
            coalescing = httpx.get(f"{ours_url}/model", timeout=10).json().get("coalescing", {})
            for name, (url, payload) in batches.items():
                results[f"{name}_batch"] = batch_rate(url, payload, args.batch_rows, args.batches)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    load_after = os.getloadavg()

    api, ml, alone = results["api"], results["mlflow"], results["alone"]
    print(
        f"\nsingle-row POST, {args.requests} requests in {args.rounds} alternating rounds, "
        f"concurrency {args.concurrency}, one uvicorn worker each, {args.client} client, "
        f"{os.cpu_count()} CPUs"
    )
    print(f"{'':22s}{'p50 ms':>10s}{'p99 ms':>10s}{'req/s':>10s}")
    for label, r in (
        ("stockout-sk /predict", api),
        ("  coalescing off", alone),
        ("mlflow models serve", ml),
    ):
        print(f"{label:22s}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}{r['rps']:>10.0f}")
    print(
        f"coalescing: {coalescing.get('rows')} rows in {coalescing.get('calls')} pipeline calls "
        f"(mean {coalescing.get('mean_rows_per_call')} rows per call, all rounds); "
        f"throughput on / off {api['rps'] / alone['rps']:.2f}x"
    )
    c1, m1 = results["api_c1"], results["mlflow_c1"]
    print(
        f"one request at a time (concurrency 1): p50 ours {c1['p50_ms']:.2f} ms, mlflow "
        f"{m1['p50_ms']:.2f} ms; p99 ours {c1['p99_ms']:.2f} ms, mlflow {m1['p99_ms']:.2f} ms"
    )
    print(
        f"ratio (mlflow / ours): p50 {ml['p50_ms'] / api['p50_ms']:.2f}x, p99 "
        f"{ml['p99_ms'] / api['p99_ms']:.2f}x; throughput ours / mlflow "
        f"{api['rps'] / ml['rps']:.2f}x"
    )
    ab, mb = results["api_batch"], results["mlflow_batch"]
    print(
        f"\nbatch of {args.batch_rows} rows (median of {args.batches}): /predict/batch "
        f"{ab['batch_s']:.3f} s = {ab['rows_per_s']:,.0f} rows/s; mlflow /invocations "
        f"{mb['batch_s']:.3f} s = {mb['rows_per_s']:,.0f} rows/s"
    )
    print(
        f"load average (1/5/15 min) before {load_before[0]:.2f}/{load_before[1]:.2f}/"
        f"{load_before[2]:.2f}, after {load_after[0]:.2f}/{load_after[1]:.2f}/{load_after[2]:.2f}"
    )
    targets = {
        "p50 ≤ 5 ms": api["p50_ms"] <= 5,
        "p99 ≤ 20 ms": api["p99_ms"] <= 20,
        "throughput ≥ 2× mlflow": api["rps"] >= 2 * ml["rps"],
        "batch ≥ 100,000 rows/s": ab["rows_per_s"] >= 100_000,
    }
    print("targets: " + ", ".join(f"{k} {'met' if ok else 'MISSED'}" for k, ok in targets.items()))
    summary = {"results": results, "coalescing": coalescing}
    print("BENCH " + json.dumps({**summary, "load_before": load_before, "load_after": load_after}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
