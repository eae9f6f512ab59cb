"""The TAXII 2.1 resources as JSON Schema, for the OpenAPI document: a client (or
schemathesis, which checks every answer against them) knows each answer's shape.

Written from TAXII 2.1 sections 4.1 to 5.6 (the resources' required properties and
types), by hand: no published JSON Schema of TAXII 2.1 resources is kept as a package.
"""

from __future__ import annotations

from typing import Any

from renkei.sharing.taxii import TAXII_MEDIA_TYPE

_STRINGS = {"type": "array", "items": {"type": "string"}}
_MORE = {"more": {"type": "boolean"}, "next": {"type": "string"}}

DISCOVERY = {"type": "object", "required": ["title"], "properties": {
    "title": {"type": "string"}, "description": {"type": "string"},
    "contact": {"type": "string"}, "default": {"type": "string"}, "api_roots": _STRINGS}}
API_ROOT = {"type": "object", "required": ["title", "versions", "max_content_length"],
            "properties": {"title": {"type": "string"}, "description": {"type": "string"},
                           "versions": _STRINGS, "max_content_length": {"type": "integer"}}}
_STATUS_DETAILS = {"type": "array", "items": {
    "type": "object", "required": ["id"], "properties": {
        "id": {"type": "string"}, "version": {"type": "string"},
        "message": {"type": "string"}}}}
STATUS = {"type": "object",
          "required": ["id", "status", "total_count", "success_count", "failure_count",
                       "pending_count"],
          "properties": {"id": {"type": "string"},
                         "status": {"type": "string", "enum": ["pending", "complete"]},
                         "request_timestamp": {"type": "string"},
                         "total_count": {"type": "integer"},
                         "success_count": {"type": "integer"},
                         "failure_count": {"type": "integer"},
                         "pending_count": {"type": "integer"},
                         "successes": _STATUS_DETAILS, "failures": _STATUS_DETAILS,
                         "pendings": _STATUS_DETAILS}}
COLLECTION = {"type": "object", "required": ["id", "title", "can_read", "can_write"],
              "properties": {"id": {"type": "string"}, "title": {"type": "string"},
                             "description": {"type": "string"}, "alias": {"type": "string"},
                             "can_read": {"type": "boolean"}, "can_write": {"type": "boolean"},
                             "media_types": _STRINGS}}
COLLECTIONS = {"type": "object", "properties": {
    "collections": {"type": "array", "items": COLLECTION}}}
ENVELOPE = {"type": "object", "properties": {
    **_MORE, "objects": {"type": "array", "items": {
        "type": "object", "required": ["type", "id"],
        "properties": {"type": {"type": "string"}, "id": {"type": "string"}}}}}}
VERSIONS = {"type": "object", "properties": {**_MORE, "versions": _STRINGS}}
MANIFEST = {"type": "object", "properties": {**_MORE, "objects": {"type": "array", "items": {
    "type": "object", "required": ["id", "date_added", "version"],
    "properties": {"id": {"type": "string"}, "date_added": {"type": "string"},
                   "version": {"type": "string"}, "media_type": {"type": "string"}}}}}}


def answers(schema: dict[str, Any], status: int = 200) -> dict[int | str, dict[str, Any]]:
    """A route's ``responses``: ``status`` answers ``schema`` in TAXII's media type."""
    return {status: {"description": "TAXII 2.1 resource",
                     "content": {TAXII_MEDIA_TYPE: {"schema": schema}}}}
