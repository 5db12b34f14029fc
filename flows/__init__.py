"""Prefect flows: thin shells composing stockout_sk steps."""
