"""What CreateProcessingJob accepts (the SageMaker API reference): a step past these fails when
SageMaker starts its job, so the translation keeps to them or says why it cannot."""

MAX_INPUTS = 10  # ProcessingInputs
MAX_OUTPUTS = 10  # ProcessingOutputConfig.Outputs
MAX_ARGUMENT = 256  # characters of one AppSpecification.ContainerArguments item


def argument_chunks(text: str) -> list[str]:
    """`text` cut into consecutive pieces that each fit one job argument."""
    return [text[i : i + MAX_ARGUMENT] for i in range(0, len(text), MAX_ARGUMENT)] or [""]
