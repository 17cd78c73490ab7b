"""One-shot store initialisation: the MinIO bucket and the Azurite container."""
