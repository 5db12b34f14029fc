"""The endpoints: ``ops`` (health, readiness), ``model`` (status, reload), ``predict``."""
