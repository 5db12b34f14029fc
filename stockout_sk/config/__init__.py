"""One home for settings: what shapes the model, where things live, how services are reached.

* :class:`ModelConfig` — the pipeline and its training (:mod:`stockout_sk.config.model`);
* :class:`Settings`, :class:`ServingSettings`, :class:`Schedules` — stores, serving knobs and
  cron schedules, read from the environment by the ``load_*`` functions, never at import
  (:mod:`stockout_sk.config.settings`);
* :class:`MonitoringConfig` — thresholds and windows of monitoring
  (:mod:`stockout_sk.config.monitoring`);
* :class:`CsvFormat` — the encoding and delimiter of the CSV exports, per run
  (:mod:`stockout_sk.config.csv_format`);
* :func:`load_ingest_workers` — how many processes read the exports (:func:`available_cores`)
  (:mod:`stockout_sk.config.ingest`).

Every environment variable the system reads is documented on these classes and in the README's
configuration table.
"""

from stockout_sk.config.csv_format import CsvFormat, load_csv_format
from stockout_sk.config.ingest import (
    INGEST_WORKERS_ENV,
    MAX_INGEST_WORKERS,
    available_cores,
    load_ingest_workers,
)
from stockout_sk.config.model import (
    THRESHOLD_METHOD_ENV,
    THRESHOLD_METHODS,
    WINDOW_ENV,
    ModelConfig,
    load_model_config,
)
from stockout_sk.config.monitoring import MonitoringConfig
from stockout_sk.config.settings import (
    DEFAULT_EXPERIMENT,
    DEFAULT_MODEL_NAME,
    MONITORING_EXPERIMENT,
    Schedules,
    ServingSettings,
    Settings,
    default_tracking_uri,
    load_schedules,
    load_serving_settings,
    load_settings,
)

__all__ = [
    "DEFAULT_EXPERIMENT",
    "DEFAULT_MODEL_NAME",
    "INGEST_WORKERS_ENV",
    "MAX_INGEST_WORKERS",
    "MONITORING_EXPERIMENT",
    "THRESHOLD_METHODS",
    "THRESHOLD_METHOD_ENV",
    "WINDOW_ENV",
    "CsvFormat",
    "ModelConfig",
    "MonitoringConfig",
    "Schedules",
    "ServingSettings",
    "Settings",
    "available_cores",
    "default_tracking_uri",
    "load_csv_format",
    "load_ingest_workers",
    "load_model_config",
    "load_schedules",
    "load_serving_settings",
    "load_settings",
]
