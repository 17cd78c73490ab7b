"""Python that runs inside the stack's containers (one sub-package per service)."""
