"""The MLflow server as this stack runs it (`mlflow server --app-name mlops-stack`)."""
