"""The "Migrated pipelines" page of the Airflow UI (a FastAPI app mounted by BridgePlugin).

- data.py: what the page shows, as plain data (manifests, executions, comparison reports);
- auth.py: who may see it, through Airflow's own auth dependencies;
- app.py: the routes, HTML (templates/, jinja2) and JSON.
"""
