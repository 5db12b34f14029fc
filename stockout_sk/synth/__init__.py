"""A simulated retail chain that writes the six CSV exports of the data contract.

:func:`generate_chain` draws the master data (:mod:`~stockout_sk.synth.catalogue`) and the demand
and replenishment policy (:mod:`~stockout_sk.synth.policy`), simulates the chain day by day
(:mod:`~stockout_sk.synth.simulate`) and writes the exports (:mod:`~stockout_sk.synth.export`),
optionally the way real exports look (:mod:`~stockout_sk.synth.formats`). The same arguments
always write the same bytes. :data:`WAREHOUSE_ID` and :data:`SUPPLIER_ID` deliver stock but are
not branches.
"""

from stockout_sk.synth.catalogue import SUPPLIER_ID, WAREHOUSE_ID
from stockout_sk.synth.generate import SynthSummary, generate_chain

__all__ = ["SUPPLIER_ID", "WAREHOUSE_ID", "SynthSummary", "generate_chain"]
