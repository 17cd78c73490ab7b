"""Log, register and alias MLflow pyfunc models for the self-hosted MLOps stack.

What belongs here: code that produces models and the code a logged model runs when it is
loaded (every pyfunc ships this package as its ``code_paths``):

- one module per model kind — ``wine``, ``hf``, ``onnx`` and the ``universal`` package (one
  module per provider) — each exposing ``log_model``-style functions that return a
  :class:`wrappers.base.LoggedModel`; ``base`` holds what they share (the logging tail
  ``log_run``/``log_pyfunc``, provenance tags, checksums, pinned requirements);
- ``registry`` (versions, aliases, promote, rollback), ``tracking`` (where the server is),
  ``cli`` (what the scripts/ CLIs share), ``errors`` (typed errors that name the fix);
- ``transfer`` (large files to and from Azure Blob / S3, and the local model-file cache);
- settings: ``settings`` (the one base class, the only module ``services`` imports from
  here), ``model_settings`` and each package's own ``settings`` module — the only places that
  read environment variables.

What must not: container or service code (entrypoints, servers, the serving engine live in
``services/`` and load any MLflow model without this package's help), benchmarks, test
helpers. Heavy frameworks (torch, transformers, onnxruntime, skl2onnx) are imported only by
the function that needs them, through :func:`wrappers.base.require`, so ``import wrappers``
and the base install suffice to log a wine model or read the registry.
"""

from wrappers.base import LoggedModel

__all__ = ["LoggedModel"]
