"""Conformance: introspection, discovery and the check catalogue (structural and behavioural)."""
