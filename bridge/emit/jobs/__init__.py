"""SageMaker operator configs as SageMaker Python SDK v3 step arguments.

The Amazon provider's SageMaker operators take a boto3-shaped ``config`` (the CreateTrainingJob,
CreateProcessingJob, ... request). A SageMaker Pipelines step takes ``step_args``: the value a
v3 job class (``ModelTrainer``, ``Processor``, ``Transformer``, ``HyperparameterTuner``,
``ModelBuilder``) or a ``PipelineSession`` method returns under a ``PipelineSession``. The
pipeline definition then holds that request as the step's ``Arguments``.

`job_code` writes the Python source that builds those step arguments from an operator config,
field by field through the v3 classes, so that the definition's ``Arguments`` equal the config
(job names and other fields the pipeline owns aside). A field the classes cannot express
becomes a `JobCode.differences` entry; nothing is dropped silently. `compare_arguments` is the
round-trip check: it compares an operator config with a built definition step's ``Arguments``
and lists every difference that is not an owned field or a documented SDK default.

Nothing here imports the SDK (that costs seconds): the generated source does. Measured facts
and per-operator notes: docs/notes/sagemaker-operators.md.

Callers import from `bridge.emit.jobs.registry`, the one entry point. The modules, by
responsibility:

- ``common``: the job kinds, step classes, owned fields and `JobCode`;
- ``shapes``: the request shapes the v3 classes take field by field;
- ``render``: `Gen`, which renders config values as source and lays it out;
- ``request``: `request_view` and `sub_jobs`, the request(s) an operator sends;
- ``compare``: `compare_arguments`, the round-trip check;
- ``practices``: what the configuration adds to every job (role, regional images, network,
  tags), applied by both `job_code` and `compare_arguments`; ``aws_images`` recognises AWS's
  own images by URI for it;
- one module per job kind (``processing``, ``training``, ``transform``, ``tuning``,
  ``model``, ``endpoint_config``, ``endpoint``, ``register_model``), each with ``build``;
- ``registry``: job kind -> builder, and `job_code`.
"""
