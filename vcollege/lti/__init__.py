"""LTI 1.3 Advantage: platforms, keys, launches, deep linking, AGS, NRPS, registration, dev LMS."""
