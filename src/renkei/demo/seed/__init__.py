"""Storing the demo's content through each domain's public services, step by step."""
