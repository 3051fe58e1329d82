"""PipelineModel -> output folder (pipeline.py, steps/, manifest, report), and validate."""
