"""Readers for the inventory formats ``vulns.inventory`` accepts, one module per family.

Kept apart from ``inventory.py`` so the public entry point stays short; nothing here is
meant to be imported from outside ``renkei.vulns``.
"""
