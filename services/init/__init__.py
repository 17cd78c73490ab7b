"""The compose stack's one-shot init job (`python -m services.init`): create the MinIO bucket and
the Azurite container if they are missing, then exit 0 so the MLflow server may start.

What belongs here: checking for and creating stores the stack needs before anything else runs
(`__main__.py`), and the job's settings (`settings.py`). What must not: anything that runs
longer than the job (servers, migrations of MLflow's database) or reads a model. It imports
nothing from `wrappers` but the settings base (`wrappers.settings`), which every image installs.
"""
