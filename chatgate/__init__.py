"""chatgate: conformance and latency gate for chat schemas in PostgreSQL."""

__version__ = "0.1.0"
