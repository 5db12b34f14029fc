"""Feature transformers: every piece of feature logic lives inside the model pipeline.

The estimators are imported from their modules (``features.calendar``, ``features.history``,
``features.hashing``: the paths every saved model names). The package itself exports what fits
the history of a chain one part at a time (a cluster's partitions of branches):
:class:`ChainContext`, :func:`chain_context` and :func:`combine_parts`.
"""

from stockout_sk.features._history_context import ChainContext, chain_context, combine_parts

__all__ = ["ChainContext", "chain_context", "combine_parts"]
