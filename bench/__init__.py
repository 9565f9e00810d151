"""Benchmarks (``d2b bench``) and the reference SQL of the headline figures."""
