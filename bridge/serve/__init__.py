"""The local SageMaker Pipelines API endpoint (and S3), running the local engine."""
