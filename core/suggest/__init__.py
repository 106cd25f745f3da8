"""The suggestion pipeline: the catalogue's per-dataset arrays, house rules,
re-ranking, reasons wording and the Suggester. Imports :mod:`core.engine` and :mod:`core.data`.
"""
