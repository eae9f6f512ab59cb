"""The demo's content as plain values: text, bytes and dataclasses, made by pure functions
from a seed and a moment, so the same call always gives the same data."""
