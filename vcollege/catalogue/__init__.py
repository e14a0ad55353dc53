"""Catalogue: the `courses/` folder loaded as courses, immutable versions and their modules,
with the translation coverage of each course."""
