"""Airflow run + pipeline run -> comparison (compare.json, compare.html)."""
