"""The data layer: the contract (schema), validated datasets and their id maps, the
generated maison, importers, uploads and safe exports. Imports nothing above it.
"""
