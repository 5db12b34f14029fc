"""Locks around what two runs must never do at once: create a store, move an alias.

* :func:`file_lock` — an exclusive lock on a file beside a local store (``mlflow.db.lock``),
  held by the operating system: a killed holder releases it at once. The holder writes who it is
  into the file, so a waiter that gives up can say who is in the way.
* :func:`lease_lock` — for a server store, a lease other hosts see: a registered model
  ``<name>.lock`` created for the duration. :func:`~stockout_sk.registry.tracking.moves_lock`
  takes a file lock for a local store and this lease for a server, around every decision that
  reads ``production`` and moves an alias. Creating a registered model is the one atomic step
  MLflow's API offers (a second ``create`` of the same name fails), so it is the
  compare-and-set; its tags say who holds it and until when, and an expired lease (a holder
  that died) is broken.

A lock that cannot be had within the wait raises :class:`RegistryBusyError`, whose message
starts with "another run is in progress".
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from stockout_sk.clock import utc_now

__all__ = [
    "LEASE_SECONDS",
    "LOCK_SUFFIX",
    "Holder",
    "RegistryBusyError",
    "break_lease",
    "file_lock",
    "lease_lock",
    "lease_of",
    "process_alive",
    "process_started",
    "this_process",
]

logger = logging.getLogger(__name__)

#: How long a server-store lease is valid without its holder releasing it. A decision takes
#: seconds to minutes (a re-score); a lease older than this belonged to a run that died.
LEASE_SECONDS = 1800
#: The registered model that is the lease of model ``<name>`` on a server store.
LOCK_SUFFIX = ".lock"
#: Between two attempts at a lock someone else holds.
_POLL_SECONDS = 0.2

_LEASE_OWNER = "stockout.lock.owner"
_LEASE_HOLDER = "stockout.lock.holder"
_LEASE_EXPIRES = "stockout.lock.expires_at"


class RegistryBusyError(RuntimeError):
    """Another run holds the lock (the message says who, since when, and what to do)."""


@dataclass(frozen=True)
class Holder:
    """Who holds a lock: written into the lock so that a waiter can name it."""

    pid: int
    host: str
    purpose: str
    since: str

    def describe(self) -> str:
        """``pid 123 on host h since 2026-…: deciding a promotion``."""
        return f"pid {self.pid} on host {self.host} since {self.since}: {self.purpose}"

    def to_json(self) -> str:
        """One JSON object."""
        return json.dumps(
            {"pid": self.pid, "host": self.host, "purpose": self.purpose, "since": self.since}
        )

    @classmethod
    def from_json(cls, text: str) -> Holder | None:
        """The holder written by :meth:`to_json`, or ``None`` when unreadable."""
        try:
            data = json.loads(text)
            return cls(int(data["pid"]), str(data["host"]), str(data["purpose"]), data["since"])
        except (ValueError, KeyError, TypeError):
            return None


def process_started(pid: int | None = None) -> str:
    """When process ``pid`` (default: this one) started, as an opaque token; ``""`` if unknown.

    With the pid it identifies a process: a pid reused later has another start time. Linux only
    (``/proc``); elsewhere the pid alone is compared.
    """
    try:
        stat = Path(f"/proc/{pid or os.getpid()}/stat").read_text()
    except OSError:
        return ""
    # Field 22 (start time in clock ticks since boot) follows the command name in parentheses.
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else ""


def process_alive(pid: int | None, host: str | None, started: str | None = None) -> bool | None:
    """Whether the process ``pid`` on ``host`` still runs: ``None`` when that cannot be told.

    ``None`` for another host or an unknown pid; on this host the pid is probed (signal 0) and,
    when ``started`` is known, its start time compared (a reused pid is another process).
    """
    if not pid or not host or host != socket.gethostname():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    if started:
        now = process_started(pid)
        if now and now != started:
            return False
    return True


def this_process(purpose: str) -> Holder:
    """A :class:`Holder` for the calling process."""
    return Holder(os.getpid(), socket.gethostname(), purpose, utc_now())


@contextlib.contextmanager
def file_lock(path: str | Path, *, purpose: str, wait_seconds: float) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) for the ``with`` block.

    Parameters
    ----------
    path : str or Path
        The lock file (its folder must exist).
    purpose : str
        What the holder does, for a waiter's message ("creating the MLflow store").
    wait_seconds : float
        How long to wait for another holder before giving up.

    Raises
    ------
    RegistryBusyError
        Still held by another process after ``wait_seconds``.
    """
    path = Path(path)
    with open(path, "a+", encoding="utf-8") as handle:
        deadline = time.monotonic() + wait_seconds
        while not _try_lock(handle):
            if time.monotonic() >= deadline:
                handle.seek(0)
                holder = Holder.from_json(handle.read())
                who = holder.describe() if holder else "another process"
                raise RegistryBusyError(
                    f"another run is in progress ({who}; lock {path}); waited "
                    f"{wait_seconds:.0f} s (STOCKOUT_LOCK_WAIT_SECONDS). Try again when it "
                    "has finished"
                )
            time.sleep(_POLL_SECONDS)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(this_process(purpose).to_json())
            handle.flush()
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            _unlock(handle)


@contextlib.contextmanager
def lease_lock(
    client: MlflowClient,
    name: str,
    *,
    purpose: str,
    wait_seconds: float,
    lease_seconds: float = LEASE_SECONDS,
) -> Iterator[None]:
    """Hold the lease of registered model ``name`` on a server store for the ``with`` block.

    The lease is the registered model ``name + LOCK_SUFFIX``: :meth:`MlflowClient.
    create_registered_model` succeeds for one caller only, and deleting it releases the lease.
    Its tags name the holder and the expiry; a lease past its expiry is deleted and taken.

    Raises
    ------
    RegistryBusyError
        Held by another run after ``wait_seconds``.
    """
    lock_name = f"{name}{LOCK_SUFFIX}"
    owner = uuid.uuid4().hex
    holder = this_process(purpose)
    deadline = time.monotonic() + wait_seconds
    while True:
        expires = datetime.now(UTC) + timedelta(seconds=lease_seconds)
        try:
            client.create_registered_model(
                lock_name,
                tags={
                    _LEASE_OWNER: owner,
                    _LEASE_HOLDER: holder.to_json(),
                    _LEASE_EXPIRES: expires.isoformat(timespec="seconds"),
                },
                description=(
                    f"Held by stockout-sk while it moves an alias of {name!r} "
                    f"({holder.describe()}). Deleted when done; safe to delete once expired."
                ),
            )
            break
        except MlflowException as error:
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        current = _lease(client, lock_name)
        if current is not None and current["expired"]:
            logger.warning(
                "breaking the expired lease %s (%s, expired %s)",
                lock_name,
                current["holder"],
                current["expires"],
            )
            _delete_lease(client, lock_name, current["owner"])
            continue
        if time.monotonic() >= deadline:
            who = current["holder"] if current else "another run"
            raise RegistryBusyError(
                f"another run is in progress ({who}; lease {lock_name!r} in the registry); "
                f"waited {wait_seconds:.0f} s (STOCKOUT_LOCK_WAIT_SECONDS). Try again when it "
                "has finished; a lease left by a run that died expires after "
                f"{lease_seconds / 60:.0f} min (or delete that registered model)"
            )
        time.sleep(_POLL_SECONDS)
    try:
        yield
    finally:
        _delete_lease(client, lock_name, owner)


def lease_of(client: MlflowClient, name: str) -> dict[str, Any] | None:
    """The lease on registered model ``name`` (``owner``, ``holder``, ``expires``, ``expired``)."""
    return _lease(client, f"{name}{LOCK_SUFFIX}")


def _lease(client: MlflowClient, lock_name: str) -> dict[str, Any] | None:
    try:
        tags = client.get_registered_model(lock_name).tags
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
    holder = Holder.from_json(tags.get(_LEASE_HOLDER, ""))
    try:
        expires = datetime.fromisoformat(tags.get(_LEASE_EXPIRES, ""))
    except ValueError:
        expires = datetime.min.replace(tzinfo=UTC)  # unreadable: treat as expired
    return {
        "owner": tags.get(_LEASE_OWNER),
        "holder": holder.describe() if holder else "an unknown run",
        "holder_process": holder,
        "expires": expires.isoformat(timespec="seconds"),
        "expired": expires <= datetime.now(UTC),
    }


def _delete_lease(client: MlflowClient, lock_name: str, owner: str | None) -> None:
    """Delete the lease if it is still ``owner``'s (re-read just before: a best effort)."""
    current = _lease(client, lock_name)
    if current is None or current["owner"] != owner:
        return
    with contextlib.suppress(MlflowException):  # someone else deleted it meanwhile
        client.delete_registered_model(lock_name)


def break_lease(client: MlflowClient, name: str) -> bool:
    """Delete the lease on ``name`` (a dead holder's); True when there was one."""
    current = lease_of(client, name)
    if current is None:
        return False
    _delete_lease(client, f"{name}{LOCK_SUFFIX}", current["owner"])
    return True


if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(handle: IO[str]) -> bool:
        handle.seek(0)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(handle: IO[str]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(handle: IO[str]) -> bool:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(handle: IO[str]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
