"""Shared kernel: configuration, database, organisations and communities, users and API
tokens, TLP levels, audit log, i18n, progress."""
