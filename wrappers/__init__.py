"""Log, register and alias MLflow pyfunc models for the self-hosted MLOps stack.

One module per model kind (``wine``, ``hf``, ``onnx``), each exposing ``log_model(...)`` that
returns a :class:`wrappers.base.LoggedModel`; ``registry`` handles versions and aliases.
Heavy frameworks (torch, transformers, onnxruntime) are imported only by the module that needs
them, so ``import wrappers`` works with the base install.
"""

from wrappers.base import LoggedModel

__all__ = ["LoggedModel"]
