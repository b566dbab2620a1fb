"""Measurement core of ensemble-fit: loading, facets, embeddings, shared
codebooks, distributions and divergences. Never imports `ensemble`."""
__version__ = "0.1.0"
