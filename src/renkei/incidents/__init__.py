"""incidents domain: see ARCHITECTURE.md; built by a later issue."""
