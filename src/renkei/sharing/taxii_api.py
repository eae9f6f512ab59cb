"""The TAXII 2.1 server's routes: discovery at ``/taxii2/``, one API root ``/taxii2/hub/``.

Thin: each route checks the media types, opens a unit of work (``core.http.work``) and
calls ``sharing.taxii``. Paths end with a slash, as TAXII 2.1 writes them.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from renkei import __version__
from renkei.core.http import ERROR_RESPONSES, MAX_REQUEST_BYTES, HttpError, work
from renkei.core.models import Scope
from renkei.sharing import taxii
from renkei.sharing import taxii_schemas as schemas
from renkei.sharing.policy import Viewer
from renkei.sharing.taxii import TAXII_MEDIA_TYPE
from renkei.sharing.taxii_schemas import answers

API_ROOT = "hub"


class TaxiiResponse(JSONResponse):
    """A TAXII 2.1 answer, JSON in TAXII's media type (as the OpenAPI document says)."""

    media_type = TAXII_MEDIA_TYPE


router = APIRouter(prefix="/taxii2", tags=["TAXII 2.1"], default_response_class=TaxiiResponse,
                   responses=ERROR_RESPONSES)

# The filters are read from the query by ``taxii.parse_filters``; declared here so that the
# OpenAPI document (and whoever reads or fuzzes it) knows them.
_FILTERS = {
    "added_after": "Only what was added after this timestamp",
    "limit": "At most this many (the server's bound applies)",
    "next": "The cursor the previous page gave",
    "match[id]": "STIX ids, comma-separated",
    "match[type]": "STIX types, comma-separated",
    "match[version]": "last, first, all or timestamps, comma-separated",
    "match[spec_version]": "STIX spec versions, comma-separated",
}


def _filters(*names: str) -> dict[str, Any]:
    return {"parameters": [{"name": n, "in": "query", "required": False,
                            "description": _FILTERS[n], "schema": {"type": "string"}}
                           for n in names]}


_PAGED = ("added_after", "limit", "next")
_ENVELOPE_IN: dict[str, Any] = {"requestBody": {"required": True, "content": {
    TAXII_MEDIA_TYPE: {"schema": {"type": "object", "description": "A TAXII 2.1 envelope",
                                  "properties": {"objects": {"type": "array",
                                                             "items": {"type": "object"}}}}}}}}


def _params(request: Request) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key[:40], []).append(value[:20_000])
    return params


def _media_range_accepts(text: str) -> bool:
    kind, *parameters = [part.strip().lower() for part in text.split(";")]
    if kind in ("*/*", "application/*"):
        return True
    if kind != "application/taxii+json":
        return False
    version = [p.split("=", 1)[1].strip() for p in parameters if p.startswith("version=")]
    return not version or version[0] == "2.1"


def accept_taxii(request: Request) -> None:
    """406 unless the client accepts TAXII 2.1 (no Accept header means anything)."""
    accept = request.headers.get("accept")
    if accept is None:
        return
    if not any(_media_range_accepts(r) for r in accept[:1000].split(",")):
        raise HttpError(406, "this server answers with {media_type}",
                        media_type=TAXII_MEDIA_TYPE)


async def taxii_body(request: Request) -> bytes:
    """The POST body, when it is TAXII 2.1 JSON (415 otherwise), within the size bound."""
    kind, *parameters = [p.strip().lower() for p in
                         request.headers.get("content-type", "")[:200].split(";")]
    version = [p.split("=", 1)[1].strip() for p in parameters if p.startswith("version=")]
    if kind != "application/taxii+json" or (version and version[0] != "2.1"):
        raise HttpError(415, "send {media_type}", media_type=TAXII_MEDIA_TYPE)
    return await request.body()


Accepts = Annotated[None, Depends(accept_taxii)]


def _json(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(value), status_code=status, media_type=TAXII_MEDIA_TYPE,
                    headers=headers)


def _root(api_root: str) -> None:
    if api_root != API_ROOT:
        raise HttpError(404, "no API root {name}", name=api_root[:100])


@router.get("/", summary="TAXII discovery", responses=answers(schemas.DISCOVERY))
def discovery(request: Request, _: Accepts) -> Response:
    with work(request):
        return _json({"title": "renkei TAXII 2.1 server",
                      "description": "Threat information shared by the hub under TLP 2.0.",
                      "default": f"/taxii2/{API_ROOT}/",
                      "api_roots": [f"/taxii2/{API_ROOT}/"]})


@router.get("/{api_root}/", summary="API root information",
            responses=answers(schemas.API_ROOT))
def api_root_information(api_root: str, request: Request, _: Accepts) -> Response:
    _root(api_root)
    with work(request):
        return _json({"title": "renkei hub", "description": f"renkei {__version__}",
                      "versions": [TAXII_MEDIA_TYPE], "max_content_length": MAX_REQUEST_BYTES})


@router.get("/{api_root}/status/{status_id}/", summary="Status of a POST",
            responses=answers(schemas.STATUS))
def status(api_root: str, status_id: str, request: Request, _: Accepts) -> Response:
    _root(api_root)
    with work(request) as w:
        return _json(taxii.status_resource(w.session, w.principal, status_id))


@router.get("/{api_root}/collections/", summary="Collections",
            responses=answers(schemas.COLLECTIONS))
def collections(api_root: str, request: Request, _: Accepts) -> Response:
    _root(api_root)
    with work(request) as w:
        views = taxii.collections_for(w.session, w.principal)
        return _json({"collections": [v.resource() for v in views]} if views else {})


@router.get("/{api_root}/collections/{collection_id}/", summary="A collection",
            responses=answers(schemas.COLLECTION))
def collection(api_root: str, collection_id: str, request: Request, _: Accepts) -> Response:
    _root(api_root)
    with work(request) as w:
        return _json(taxii.collection_for(w.session, w.principal, collection_id).resource())


@router.get("/{api_root}/collections/{collection_id}/objects/", summary="Objects",
            responses=answers(schemas.ENVELOPE),
            openapi_extra=_filters(*_PAGED, "match[id]", "match[type]", "match[version]",
                                   "match[spec_version]"))
def get_objects(api_root: str, collection_id: str, request: Request, _: Accepts) -> Response:
    _root(api_root)
    with work(request) as w:
        view = taxii.collection_for(w.session, w.principal, collection_id)
        filters = taxii.parse_filters(_params(request))
        page = taxii.objects_page(w.session, Viewer.of(w.principal), view.collection.id, filters)
        return Response(taxii.envelope_bytes(page), media_type=TAXII_MEDIA_TYPE,
                        headers=page.headers())


@router.post("/{api_root}/collections/{collection_id}/objects/", summary="Add objects",
             status_code=202, openapi_extra=_ENVELOPE_IN,
             responses=answers(schemas.STATUS, 202))
def add_objects(api_root: str, collection_id: str, request: Request, _: Accepts,
                body: Annotated[bytes, Depends(taxii_body)]) -> Response:
    _root(api_root)
    with work(request, Scope.SUBMIT) as w:
        view = taxii.collection_for(w.session, w.principal, collection_id)
        added = taxii.add_objects(w.session, w.clock, w.principal, view, body, source=w.source)
        return _json(taxii.status_resource(w.session, w.principal, added.id), status=202)


@router.get("/{api_root}/collections/{collection_id}/objects/{object_id}/",
            summary="An object", responses=answers(schemas.ENVELOPE),
            openapi_extra=_filters(*_PAGED, "match[version]", "match[spec_version]"))
def get_object(api_root: str, collection_id: str, object_id: str, request: Request,
               _: Accepts) -> Response:
    _root(api_root)
    with work(request) as w:
        view = taxii.collection_for(w.session, w.principal, collection_id)
        viewer = Viewer.of(w.principal)
        taxii.require_visible(w.session, viewer, view.collection.id, object_id)
        params = _params(request)
        params["match[id]"] = [object_id]
        filters = taxii.parse_filters(params)
        page = taxii.objects_page(w.session, viewer, view.collection.id, filters)
        return Response(taxii.envelope_bytes(page), media_type=TAXII_MEDIA_TYPE,
                        headers=page.headers())


@router.delete("/{api_root}/collections/{collection_id}/objects/{object_id}/",
               summary="Delete an object",
               openapi_extra=_filters("match[version]", "match[spec_version]"))
def delete_object(api_root: str, collection_id: str, object_id: str, request: Request,
                  _: Accepts) -> Response:
    _root(api_root)
    with work(request, Scope.SUBMIT) as w:
        view = taxii.collection_for(w.session, w.principal, collection_id)
        filters = taxii.parse_filters(_params(request), default_version="all")
        taxii.delete_object(w.session, w.clock, w.principal, view, object_id, filters,
                            source=w.source)
        return Response(status_code=200, media_type=TAXII_MEDIA_TYPE)


@router.get("/{api_root}/collections/{collection_id}/objects/{object_id}/versions/",
            summary="Versions of an object", responses=answers(schemas.VERSIONS),
            openapi_extra=_filters(*_PAGED, "match[spec_version]"))
def get_versions(api_root: str, collection_id: str, object_id: str, request: Request,
                 _: Accepts) -> Response:
    _root(api_root)
    with work(request) as w:
        view = taxii.collection_for(w.session, w.principal, collection_id)
        filters = taxii.parse_filters(_params(request))
        page = taxii.versions_page(w.session, Viewer.of(w.principal), view.collection.id,
                                   object_id, filters)
        return _json(page.resource("versions"), headers=page.headers())


@router.get("/{api_root}/collections/{collection_id}/manifest/", summary="Manifest",
            responses=answers(schemas.MANIFEST),
            openapi_extra=_filters(*_PAGED, "match[id]", "match[type]", "match[version]",
                                   "match[spec_version]"))
def get_manifest(api_root: str, collection_id: str, request: Request, _: Accepts) -> Response:
    _root(api_root)
    with work(request) as w:
        view = taxii.collection_for(w.session, w.principal, collection_id)
        filters = taxii.parse_filters(_params(request))
        page = taxii.manifest_page(w.session, Viewer.of(w.principal), view.collection.id,
                                   filters)
        return _json(page.resource("objects"), headers=page.headers())
