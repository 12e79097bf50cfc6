"""Typed settings and example configurations."""
