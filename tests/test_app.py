"""The application as a whole: it starts on a fresh database and describes itself."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from renkei.app import create_app
from renkei.core.config import load_config


def test_a_fresh_app_describes_its_api(tmp_path: Path, empty_database_url: str) -> None:
    config = load_config({"RENKEI_HOME": str(tmp_path), "RENKEI_DATABASE_URL": empty_database_url})
    with TestClient(create_app(config, validation_workers=1)) as client:
        spec = client.get("/openapi.json").json()
        assert "/api/v1/sharing/submissions" in spec["paths"]
        assert "/taxii2/{api_root}/collections/{collection_id}/objects/" in spec["paths"]
        assert client.get("/docs").status_code == 200
        missing = client.get("/api/v1/no/such/page", headers={"Accept-Language": "ja"})
        assert missing.status_code == 404
        assert missing.json()["title"] == "見つかりません"
