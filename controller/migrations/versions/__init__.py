"""Alembic revisions, one file each, named `NNNN_slug.py`; the chain starts at `0001_baseline`."""
