"""The pronunciation lexicon officials edit: terms and how to say them.

`models` holds the tables and API shapes, `store` the edits, `compiled` the cached
matcher the speech text filter runs before the normaliser.
"""
