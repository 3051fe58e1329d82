"""iam/: the IAM policies an output folder's pipeline needs, derived from its built definition.

`bridge validate` builds `pipeline.definition()` offline (bridge.emit.validate) and hands the
definition here. What the steps' Arguments name is what the execution role gets, and nothing else:

- S3: each URI a job reads (inputs, model data) or writes (outputs), as bucket + key prefix.
  A URI known only at run time (a Join with the execution id or a parameter) counts by its static
  start, `s3://bucket/pipeline/` + `*`. Outputs are readable too: later steps and JsonGet read
  them through step properties the definition does not resolve.
- ECR: the repository of each image; Lambda: each function a LambdaStep invokes; EMR: the
  clusters EMR steps add steps to; CloudWatch Logs: the log groups of the job kinds present.
- SageMaker: Create/Describe/Stop (and AddTags) of the job kinds present, on job ARNs of the
  region; `iam:PassRole` on the execution role itself (and any role a step names) to SageMaker.

The offline build stands in a bucket, role and account (`OfflineBuild`); they become the real
ones here: the bucket the session defaults to (`sagemaker-<region>-<account>`), the role named
by `role` in [tool.bridge] (else `<pipeline>-execution`), its account (else `*`, with
`aws:ResourceAccount` pinned to the caller's account where a resource could be another's).
IAM has no escape for `*` and `?`: a name from the DAG holding one (or `${`) is cut there, so it
never widens a grant beyond its literal start.

Besides the execution role: its trust policy, the scheduler role (EventBridge Scheduler starting
this pipeline), the deploy role (what `pipeline.py --upsert` in CI needs), the role of the Lambda
functions pipeline.py creates when `lambda_role` is configured, and two guard rails (deny jobs
outside a VPC, or without network isolation). iam/README.md says what each file is for.

    model       Target, OfflineBuild, Statement, policy and trust documents
    values      what the definition names (S3 locations, images, ARNs), as literal starts
    execution   the execution role's grants
    functions   the created Lambda functions' grants
    roles       scheduler and deploy roles, guard rails
    files       iam/ in the output folder
"""

from bridge.emit.iam.files import IAM_DIR, iam_documents, write_iam
from bridge.emit.iam.functions import function_roles
from bridge.emit.iam.model import OfflineBuild, Target
from bridge.emit.iam.roles import guard_rail_policies
from bridge.emit.iam.values import literal_start, s3_location, static_text

__all__ = [
    "IAM_DIR",
    "OfflineBuild",
    "Target",
    "function_roles",
    "guard_rail_policies",
    "iam_documents",
    "literal_start",
    "s3_location",
    "static_text",
    "write_iam",
]
