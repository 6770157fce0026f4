"""The Images view: a FastAPI app in the API server and the UI's "Images" tabs that frame its gallery.

Loaded through the ``airflow.plugins`` entry point (:mod:`.plugin`). Nothing else in the package imports
this subpackage: it needs FastAPI and Airflow's API server, which DAG files and workers do without.
"""
