"""The mlflow engine: `mlflow models serve` children behind a switchable proxy."""
