"""The engine: interaction matrix, product features, models, evaluation, tuning and
trends. Imports only :mod:`core.data`.
"""
