"""Shared kernel: configuration, database, organisations, audit log, i18n, progress."""
