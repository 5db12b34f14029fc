"""Feature transformers: every piece of feature logic lives inside the model pipeline."""
