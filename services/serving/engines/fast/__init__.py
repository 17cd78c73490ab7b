"""The fast engine: MLflow's scoring protocol from a model loaded in the worker process."""
