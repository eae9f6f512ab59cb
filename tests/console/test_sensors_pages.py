"""The sensors pages through the real app on one ingested darknet capture: trends with their
charts, rises, the staff-only scanners and backscatter, sensors (blocks for the staff and the
owner), notifications (a member's own addresses only), the overview's panel, Japanese."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import renkei
from renkei.core import i18n, orgs
from renkei.core.models import Role
from renkei.sensors import notify, service
from renkei.sensors import pages as sensors_pages
from renkei.sensors.service import SensorCapture
from tests.console.conftest import Hub, csrf_of
from tests.message_templates import page_templates, templates
from tests.sensors.sample_captures import MIRAI_SRC, VICTIM, darknet_capture

TEMPLATES = Path(renkei.__file__).parent / "console" / "templates" / "sensors"


@pytest.fixture(scope="module")
def darknet(hub: Hub, tmp_path_factory: pytest.TempPathFactory) -> Hub:
    """A sensor owned by "lab", the capture ingested; "member" holds MIRAI_SRC's range and
    "other" the victim's."""
    capture = tmp_path_factory.mktemp("sensors") / "day.pcap"
    capture.write_bytes(darknet_capture())
    with hub.db.session() as session:
        for name in ("lab", "other"):
            if orgs.get_by_name(session, name) is None:
                orgs.add(session, hub.clock, name)
        service.register_sensor(session, hub.clock, "tokyo-1", site="Koganei", owner="lab",
                                blocks=["203.0.113.0/24"])
        service.add_member_range(session, hub.clock, "member", "198.51.100.0/25")
        service.add_member_range(session, hub.clock, "other", "198.51.100.128/25")
        service.ingest(session, hub.clock, [SensorCapture(capture, "tokyo-1")])
        assert any(n.addresses for n in notify.notices(session))
    return hub


def _signed_in(hub: Hub, email: str) -> TestClient:
    client = hub.client()
    hub.sign_in(client, email)
    return client


def _images(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in
            re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)]


def test_trends_show_two_charts_and_the_top_ports(darknet: Hub) -> None:
    client = _signed_in(darknet, darknet.member)
    page = client.get("/sensors/")
    assert page.status_code == 200
    images = _images(page.text)
    assert len(images) == 2
    assert all(i.startswith(b"<svg") for i in images)
    assert "23/tcp" in page.text
    one = client.get("/sensors/", params={"period": "1d", "sensor": "tokyo-1"})
    assert one.status_code == 200
    assert len(_images(one.text)) == 2
    assert client.get("/sensors/", params={"sensor": "<nope>", "period": "x"}).status_code == 200


def test_rises_and_campaigns_page(darknet: Hub) -> None:
    client = _signed_in(darknet, darknet.member)
    page = client.get("/sensors/rises")
    assert page.status_code == 200
    assert "Campaigns" in page.text


def test_scanners_and_backscatter_are_for_the_staff_only(darknet: Hub) -> None:
    member = _signed_in(darknet, darknet.member)
    assert member.get("/sensors/findings").status_code == 403
    assert "/sensors/findings" not in member.get("/sensors/").text
    assert MIRAI_SRC not in member.get("/sensors/rises").text
    staff = _signed_in(darknet, darknet.admin)
    scanners = staff.get("/sensors/findings")
    assert scanners.status_code == 200
    assert MIRAI_SRC in scanners.text
    backscatter = staff.get("/sensors/findings", params={"kind": "backscatter"})
    assert VICTIM in backscatter.text
    assert MIRAI_SRC not in backscatter.text
    narrowed = staff.get("/sensors/findings", params={"src": VICTIM, "port": 23})
    assert MIRAI_SRC not in narrowed.text
    assert staff.get("/sensors/findings", params={"src": "not an address"}).status_code == 400


def test_blocks_only_for_the_staff_and_the_owner(darknet: Hub) -> None:
    assert "203.0.113.0/24" not in _signed_in(darknet, darknet.member).get("/sensors/list").text
    assert "203.0.113.0/24" in _signed_in(darknet, darknet.admin).get("/sensors/list").text
    owner = _signed_in(darknet, darknet.add_user("lab"))
    assert "203.0.113.0/24" in owner.get("/sensors/list").text


def test_a_member_sees_only_its_own_notifications(darknet: Hub) -> None:
    member = _signed_in(darknet, darknet.member)
    mine = member.get("/sensors/notifications")
    assert MIRAI_SRC in mine.text
    assert VICTIM not in mine.text
    other = member.get("/sensors/notifications", params={"org": "other"})
    assert other.status_code == 400
    assert VICTIM not in other.text
    theirs = _signed_in(darknet, darknet.add_user("other")).get("/sensors/notifications")
    assert VICTIM in theirs.text
    assert MIRAI_SRC not in theirs.text
    staff = _signed_in(darknet, darknet.admin)
    every = staff.get("/sensors/notifications").text
    assert MIRAI_SRC in every
    assert VICTIM in every
    assert MIRAI_SRC not in staff.get("/sensors/notifications", params={"org": "other"}).text


def test_the_overview_panel_has_a_small_chart(darknet: Hub) -> None:
    page = _signed_in(darknet, darknet.add_user("member", Role.MEMBER_READER)).get("/")
    panel = page.text.split('id="panel-sensors"')[1].split("</section>")[0]
    assert len(_images(panel)) == 1


def test_the_pages_speak_japanese(darknet: Hub) -> None:
    client = _signed_in(darknet, darknet.add_user("member"))
    client.post("/language", data={"lang": "ja", "csrf": csrf_of(client.get("/sensors/")),
                                   "next": "/sensors/"})
    page = client.get("/sensors/").text
    assert "センサーの傾向" in page
    assert "上位ポート" in page


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*.html")), ids=lambda p: p.name)
def test_every_page_word_has_japanese(path: Path) -> None:
    japanese = i18n.messages("ja")
    missing = [t for t in page_templates(path) if t not in japanese]
    assert not missing, f"add to src/renkei/sensors/locale/ja/sensors.po: {missing}"


def test_every_message_has_japanese() -> None:
    japanese = i18n.messages("ja")
    found = templates(Path(str(sensors_pages.__file__)), {"gettext_noop": 0, "t": 0})
    missing = [t for t in found if t not in japanese]
    assert not missing, f"add to src/renkei/sensors/locale/ja/sensors.po: {missing}"
