"""Operator tools acting on a live broker: apply the definitions, inspect dead letters."""
