"""Test doubles and sample data shared by every test tier (unit, integration, benchmarks):
one in-memory implementation of each port."""
