"""Benchmarks measured by the project's own commands (SPEC section 11): ``python -m bench.<name>``."""
