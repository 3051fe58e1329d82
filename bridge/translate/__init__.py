"""DagModel -> PipelineModel: the rules' engine and what they share."""
