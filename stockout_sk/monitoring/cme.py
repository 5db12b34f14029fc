"""run_cme: one monitoring run end to end — read the data, load the model, assess, respond."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stockout_sk.config import CsvFormat, MonitoringConfig, Settings, load_settings
from stockout_sk.ingest import ChainData, load_chain
from stockout_sk.monitoring.assessment import assess
from stockout_sk.monitoring.model_reference import ModelReference, load_reference
from stockout_sk.monitoring.report import MonitoringReport
from stockout_sk.monitoring.response import respond
from stockout_sk.registry import ProductionModel, load_production

__all__ = ["run_cme"]


def run_cme(
    data: str | Path | ChainData,
    *,
    model: ProductionModel | None = None,
    reference: ModelReference | Mapping[str, Any] | None = None,
    config: MonitoringConfig | None = None,
    settings: Settings | None = None,
    dry_run: bool = False,
    out_dir: str | Path | None = None,
    chunksize: int = 100_000,
    log_to_mlflow: bool | None = None,
    csv_format: CsvFormat | None = None,
) -> MonitoringReport:
    """Monitor the production model on new data: evaluate, measure drift, decide, act, report.

    Parameters
    ----------
    data : str, Path or ChainData
        A directory with the six CSV exports of a later period, or the ingested chain.
    model : ProductionModel, optional
        The model to judge; default ``registry.load_production(settings)``.
    reference : ModelReference or dict, optional
        Its reference distributions; default :func:`~stockout_sk.monitoring.load_reference` from
        its training run. A plain dict is taken as the ``reference.json`` content.
    config : MonitoringConfig, optional
        Thresholds and windows (defaults documented on the class).
    settings : Settings, optional
        Registry and tracking store; default the environment (``MLFLOW_TRACKING_URI``,
        ``STOCKOUT_MODEL_NAME``).
    dry_run : bool, default=False
        Decide and report; change nothing in the registry, and log no MLflow run unless
        ``log_to_mlflow=True``.
    out_dir : str or Path, optional
        Folder of the HTML report (see :func:`~stockout_sk.monitoring.respond`).
    chunksize : int, default=100_000
        CSV rows per chunk when ``data`` is a directory.
    log_to_mlflow : bool, optional
        Log the run to the ``stockout-monitoring`` experiment; default: unless ``dry_run`` (a
        dry run asked to log is tagged ``stockout.monitoring.dry_run=true``).
    csv_format : CsvFormat, optional
        Encoding and delimiter when ``data`` is a directory (default: the environment, else
        detected).

    Returns
    -------
    MonitoringReport
        ``decision`` (``ok``/``warn``/``rollback``/``fallback``), ``reasons``, ``action``,
        ``rolling``, ``drift``, ``report_path``, ``mlflow_run_id``.

    Raises
    ------
    NoProductionModelError
        No model given and nothing holds ``production``.
    MissingReferenceError
        The model's training run has no reference distributions.
    DataContractError, ValueError
        The data cannot be read, or no label has matured in it.

    Examples
    --------
    >>> report = run_cme("exports/2024-06", dry_run=True)  # doctest: +SKIP
    >>> report.decision, report.psi["prediction"]  # doctest: +SKIP
    ('ok', 0.021)
    """
    settings = settings or load_settings()
    config = config or MonitoringConfig()
    if isinstance(data, str | Path):
        source = str(data)
        chain = load_chain(data, chunksize=chunksize, csv_format=csv_format)
    else:
        source, chain = "ChainData", data
    if model is None:
        model = load_production(settings)
    if reference is None:
        reference = load_reference(model, settings)
    elif not isinstance(reference, ModelReference):
        reference = ModelReference(training=dict(reference))
    report = assess(chain, model, reference, config, data_source=source)
    return respond(report, settings, dry_run=dry_run, out_dir=out_dir, log_to_mlflow=log_to_mlflow)
