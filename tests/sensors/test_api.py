"""The sensors REST API through the real application: sensors, series, findings and
notifications; a member reads its own notifications and no one else's, and its shared
report is invisible to other members over REST and TAXII."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from renkei.app import create_app
from renkei.core import members, orgs
from renkei.core.config import load_config
from renkei.core.db import Database
from renkei.core.time import SystemClock
from renkei.sensors import notify, service
from renkei.sensors.service import SensorCapture
from renkei.sharing import taxii
from tests.sensors.sample_captures import MIRAI_SRC, VICTIM, darknet_capture


@dataclass
class Hub:
    client: TestClient
    tokens: dict[str, str]

    def get(self, who: str, path: str, **params: Any) -> tuple[int, Any]:
        response = self.client.get(path, params=params,
                                   headers={"Authorization": f"Bearer {self.tokens[who]}"})
        return response.status_code, response.json()


@pytest.fixture
def hub(tmp_path: Path, empty_database_url: str) -> Iterator[Hub]:
    clock = SystemClock()
    db = Database(empty_database_url)
    capture = tmp_path / "day.pcap"
    capture.write_bytes(darknet_capture())
    tokens = {}
    with db.session() as s:
        made = {"hub": orgs.add(s, clock, "Hub", hub=True),
                "isp": orgs.add(s, clock, "ISP", communities=["telecom"]),
                "bank": orgs.add(s, clock, "Bank", communities=["telecom"]),
                "lab": orgs.add(s, clock, "Lab")}
        for who, org in made.items():
            tokens[who] = members.create_token(s, clock, organisation=org,
                                               scopes="read,submit,admin" if who == "hub"
                                               else "read").token
        service.register_sensor(s, clock, "tokyo-1", site="Koganei", owner="Lab",
                                blocks=["203.0.113.0/24"])
        service.add_member_range(s, clock, "ISP", "198.51.100.0/25")
        service.add_member_range(s, clock, "Bank", "198.51.100.128/25")
        service.ingest(s, clock, [SensorCapture(capture, "tokyo-1")])
        for notice in notify.notices(s):
            if notice.addresses:
                notify.share_notice(s, clock, notice)
    db.dispose()
    config = load_config({"RENKEI_HOME": str(tmp_path),
                          "RENKEI_DATABASE_URL": empty_database_url})
    with TestClient(create_app(config, validation_workers=1)) as client:
        yield Hub(client, tokens)


def test_sensor_blocks_only_for_the_hub_and_the_owner(hub: Hub) -> None:
    for who, blocks in (("hub", ["203.0.113.0/24"]), ("lab", ["203.0.113.0/24"]),
                        ("isp", None)):
        status, body = hub.get(who, "/api/v1/sensors")
        assert status == 200
        assert body == [{"name": "tokyo-1", "site": "Koganei", "addresses": 256,
                         "blocks": blocks}]


def test_series_by_port_sensor_and_time(hub: Hub) -> None:
    status, body = hub.get("isp", "/api/v1/sensors/series", port=23, sensor="tokyo-1",
                           since="2026-04-01T00:00:00Z", until="2026-04-02T00:00:00Z")
    assert status == 200
    assert [(p["port"], p["packets"], p["sources"], p["protocol"]) for p in body] == [
        (23, 30, 1, "tcp")]
    assert hub.get("isp", "/api/v1/sensors/series", since="2026-04-02T00:00:00")[1] == []
    assert hub.get("isp", "/api/v1/sensors/series", sensor="nowhere")[0] == 404
    assert hub.get("isp", "/api/v1/sensors/series", port=70000)[0] == 400
    assert hub.client.get("/api/v1/sensors/series").status_code == 401


def test_findings_with_addresses_are_for_the_hub_s_staff(hub: Hub) -> None:
    status, body = hub.get("hub", "/api/v1/sensors/findings")
    assert status == 200
    assert {f["src"] for f in body} == {MIRAI_SRC, VICTIM, "192.0.2.99"}
    status, body = hub.get("hub", "/api/v1/sensors/findings", kind="scanner", port=23)
    assert [(f["src"], f["sensor"], f["fingerprints"]) for f in body] == [
        (MIRAI_SRC, "tokyo-1", ["mirai"])]
    # a member reads rises and campaigns only, whatever it asks for
    assert hub.get("isp", "/api/v1/sensors/findings") == (200, [])
    assert hub.get("isp", "/api/v1/sensors/findings", kind="scanner") == (200, [])
    assert hub.get("isp", "/api/v1/sensors/findings", kind="worm")[0] == 400


def test_a_member_reads_its_own_notifications_and_no_one_else_s(hub: Hub) -> None:
    status, body = hub.get("isp", "/api/v1/sensors/notifications")
    assert status == 200
    (notice,) = body
    assert notice["organisation"] == "ISP"
    assert [a["address"] for a in notice["addresses"]] == [MIRAI_SRC]
    assert hub.get("isp", "/api/v1/sensors/notifications", org="ISP")[0] == 200
    status, body = hub.get("isp", "/api/v1/sensors/notifications", org="Bank")
    assert status == 404
    assert "no organisation" in body["description"]
    # as if it did not exist: the same answer as for a made-up name
    status, made_up = hub.get("isp", "/api/v1/sensors/notifications", org="Nobody")
    assert status == 404
    assert made_up["description"] == "no organisation Nobody"
    status, body = hub.get("bank", "/api/v1/sensors/notifications")
    assert [a["address"] for a in body[0]["addresses"]] == [VICTIM]


def test_the_hub_s_staff_read_any_member_s_notifications(hub: Hub) -> None:
    status, body = hub.get("hub", "/api/v1/sensors/notifications")
    assert status == 200
    assert {n["organisation"] for n in body} == {"ISP", "Bank"}
    status, body = hub.get("hub", "/api/v1/sensors/notifications", org="Bank")
    assert [n["organisation"] for n in body] == ["Bank"]
    assert hub.get("hub", "/api/v1/sensors/notifications", org="Nobody")[0] == 404


def test_the_shared_report_reaches_its_member_alone(hub: Hub) -> None:
    def reports(who: str) -> set[str]:
        status, body = hub.get(who, "/api/v1/sharing/objects", type="report")
        assert status == 200
        return {o["object"]["name"] for o in body}

    isp_report = "Sensor observations of ISP's addresses"
    bank_report = "Sensor observations of Bank's addresses"
    assert reports("isp") == {isp_report}
    assert reports("bank") == {bank_report}
    assert reports("lab") == set()
    assert reports("hub") == {isp_report, bank_report}
    _status, body = hub.get("isp", "/api/v1/sharing/objects", type="report")
    report_id = body[0]["id"]
    collection = taxii.collection_id_for(taxii.DEFAULT_COLLECTION_ALIAS)
    path = f"/taxii2/hub/collections/{collection}/objects/{report_id}/"
    assert hub.get("isp", path)[0] == 200
    assert hub.get("bank", path)[0] == 404
    assert hub.get("bank", f"/api/v1/sharing/objects/{report_id}")[0] == 404


def test_times_are_utc_and_those_no_datetime_holds_are_malformed(hub: Hub) -> None:
    """A time whose UTC form is before year 1 was a server error (tests/test_openapi_fuzz.py)."""
    for path in ("/api/v1/sensors/series", "/api/v1/sensors/findings"):
        status, body = hub.get("hub", path, since="0001-01-01T00:00:00+01:00")
        assert status == 400, body
        assert [p["where"] for p in body["details"]["problems"]] == ["query.since"]
        status, body = hub.get("hub", path, since="2000-01-01T00:00:00")
        assert status == 200, body  # a time without a zone is UTC
