"""Services the dashboard and the CLI call: curation, lookbooks, outcomes, health,
trend views, retraining, bootstrap, access and search. Imports the layers below and
:mod:`core.store`.
"""
