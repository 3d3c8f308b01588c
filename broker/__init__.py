"""Caselink runtime: sealed envelopes, transport, gateway, tracker, and the `caselink` command."""
