"""DAG file -> DagModel: read, check, parse with libcst, interpret statically."""
