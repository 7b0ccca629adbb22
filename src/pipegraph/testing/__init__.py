"""Helpers shared by the test suite and the benchmarks; nothing here runs in the API itself."""
