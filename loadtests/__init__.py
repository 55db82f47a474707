"""Seeding, benchmarks and load against a chat design: exact latencies, realistic data."""
