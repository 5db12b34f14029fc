"""stockout-sk: predict which items at which branches will fall below safety stock.

The library holds all logic; ``flows/`` (Prefect) and ``api/`` (FastAPI) are thin shells over it.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
