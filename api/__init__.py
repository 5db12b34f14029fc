"""FastAPI app: a thin HTTP shell over stockout_sk."""
