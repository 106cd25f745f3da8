"""The fit beyond one machine: row blocks of the interaction matrix, reduced by Dask.

Every block holds whole client rows, so the per-block arithmetic is the
one-process arithmetic (:mod:`core.engine.cells`), and everything global --
normalisation statistics, demand, the truncated SVD -- is a sum over blocks
of products-sized arrays. Nothing client-sized is ever gathered.
"""
