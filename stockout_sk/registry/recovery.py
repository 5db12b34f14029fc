"""What a killed run leaves behind, put right on the next start — and said.

A ``train`` killed with ``kill -9`` can leave, in the registry:

* its MLflow run ``RUNNING`` forever: marked ``FAILED`` (tag ``stockout.interrupted`` says
  why) once the process recorded on it (``stockout.pid``, ``stockout.host``,
  ``stockout.process_started``) is gone;
* a registered version the gate never decided (still ``pending-gate``, or without its holdout
  F1 and threshold): marked ``stockout.decision=unevaluated``, which ``registry promote`` then
  refuses without ``--force``;
* on a server store, its promotion lease (``<name>.lock``): deleted.

Nothing is touched while its process runs, or when it ran on another host (that cannot be
told from here: it is reported, and left). :func:`recover_interrupted` is called when training
starts (the flow's set-up step).
"""

from __future__ import annotations

import logging

from mlflow import MlflowClient
from mlflow.entities import Run, RunStatus
from mlflow.exceptions import MlflowException

from stockout_sk.clock import utc_now
from stockout_sk.config import Settings
from stockout_sk.registry.locking import break_lease, lease_of, process_alive
from stockout_sk.registry.state import record
from stockout_sk.registry.tracking import configure_tracking
from stockout_sk.registry.view import is_evaluated
from stockout_sk.vocabulary import Decision, RunKind, Tag

__all__ = ["recover_interrupted"]

logger = logging.getLogger(__name__)


def recover_interrupted(settings: Settings) -> list[str]:
    """Mark what runs that died left behind; one line per thing done or left alone.

    Parameters
    ----------
    settings : Settings
        The store, training experiment and registered model to look at.

    Returns
    -------
    list of str
        What was marked (or found and left), for the command's output; empty when nothing was.
    """
    tracking = configure_tracking(settings)
    uri = tracking.tracking_uri
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    said: list[str] = []
    dead_runs: dict[str, str] = {}
    for run in client.search_runs(
        [tracking.experiment_id],
        filter_string=f"attributes.status = 'RUNNING' and tags.`{Tag.KIND}` = '{RunKind.TRAINING}'",
        max_results=1000,
    ):
        alive, who = _owner(run)
        if alive is None:
            said.append(f"run {run.info.run_id} is RUNNING ({who}): cannot tell from here; left")
        elif not alive:
            why = f"marked FAILED at {utc_now()}: {who} is gone (killed?) — the run never ended"
            client.set_tag(run.info.run_id, Tag.INTERRUPTED, why)
            client.set_terminated(run.info.run_id, status=RunStatus.to_string(RunStatus.FAILED))
            dead_runs[run.info.run_id] = who
            said.append(f"run {run.info.run_id} left RUNNING by {who}: marked FAILED")
    said += _undecided_versions(client, settings.model_name, dead_runs)
    said += _stale_lease(client, settings.model_name)
    for line in said:
        logger.warning("%s", line)
    return said


def _undecided_versions(client: MlflowClient, name: str, dead_runs: dict[str, str]) -> list[str]:
    said = []
    try:
        versions = client.search_model_versions(f"name='{name}'")
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return []
        raise
    for mv in versions:
        tags = mv.tags or {}
        undecided = tags.get(Tag.DECISION) == Decision.PENDING or (
            Tag.DECISION not in tags and not is_evaluated(tags)
        )
        if not undecided or not mv.run_id:
            continue
        who = dead_runs.get(mv.run_id)
        if who is None:
            try:
                alive, who = _owner(client.get_run(mv.run_id))
            except MlflowException:
                alive, who = False, "its run (deleted)"
            if alive is not False:
                continue  # its gate may still be deciding (or it ran elsewhere)
        reason = (
            f"the training run ({who}) ended before the promotion gate decided; nothing was "
            "checked. Promote only after checking it (`stockout-sk registry promote "
            f"{mv.version} --force`), or train again"
        )
        record(
            client,
            mv,
            {Tag.DECISION: Decision.UNEVALUATED, Tag.REASON: reason, Tag.DECIDED_AT: utc_now()},
        )
        said.append(f"{name} version {mv.version}: never decided by the gate, marked unevaluated")
    return said


def _stale_lease(client: MlflowClient, name: str) -> list[str]:
    lease = lease_of(client, name)
    if lease is None:
        return []
    holder = lease["holder_process"]
    alive = None if holder is None else process_alive(holder.pid, holder.host)
    if alive is False or lease["expired"]:
        break_lease(client, name)
        return [f"promotion lease of {name} left by {lease['holder']}: deleted"]
    return []


def _owner(run: Run) -> tuple[bool | None, str]:
    """Whether the process that logged ``run`` still runs, and how to name it."""
    tags = run.data.tags
    pid, host = tags.get(Tag.PID), tags.get(Tag.HOST)
    who = f"pid {pid} on host {host}" if pid and host else "a process not recorded on the run"
    alive = process_alive(
        int(pid) if pid and pid.isdigit() else None, host, tags.get(Tag.PROCESS_STARTED)
    )
    return alive, who
