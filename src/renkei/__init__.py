"""renkei: collect, analyse and share cyber-threat information (連携)."""

__version__ = "0.1.0"
