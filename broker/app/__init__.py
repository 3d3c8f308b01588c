"""Composition roots: one module per process wires settings into objects."""
