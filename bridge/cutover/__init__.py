"""The DAG-file codemod that swaps tasks for the migrated pipeline, and its rollback."""
