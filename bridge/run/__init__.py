"""definition.json -> RunRecord: the local engine and the SageMaker engines."""
