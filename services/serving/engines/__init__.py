"""Serving engines: `fast` (model in-process) and `mlflow` (`mlflow models serve` children)."""
