"""A file that is not YAML (or CSV), uploaded from the Japanese console: the page says in
Japanese where the file stops being one and why, never in PyYAML's English, and writes
nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from renkei.core.models import Role
from tests.console.conftest import Hub, csrf_of
from tests.console.signed_in import browser


@pytest.fixture(scope="module")
def staff(hub: Hub) -> TestClient:
    client = browser(hub, hub.add_user("hub", Role.HUB_ANALYST))
    client.post("/language", data={"csrf": csrf_of(client.get("/")), "lang": "ja"})
    return client


def _send(client: TestClient, path: str, data: dict[str, str] | None = None,
          files: list[tuple[str, tuple[str, bytes]]] | None = None) -> Response:
    token = csrf_of(client.get("/plan/comments"))
    return client.post(path, data={"csrf": token, **(data or {})}, files=files)


@pytest.fixture(scope="module")
def consultation_key(staff: TestClient) -> str:
    opened = _send(staff, "/plan/consultations", {"key": "cs-broken", "title": "壊れたファイル",
                                                  "year": "2015"})
    assert opened.status_code == 303, opened.text
    return "cs-broken"


def _refused(answer: Response, said: str) -> None:
    assert answer.status_code == 400, answer.text
    assert said in answer.text
    for english in ("not YAML", "not CSV", "mapping values", "while scanning", "expected"):
        assert english not in answer.text


def test_a_framework_that_is_not_yaml_is_refused_in_japanese(staff: TestClient) -> None:
    framework = (b"format: renkei-framework/1\nkey: k\nversion: '1'\n"
                 b"title: \xe5\x9f\xba\xe6\xba\x96: 2026\nrequirements:\n- {ref: A, title: a}\n")
    answer = _send(staff, "/plan/frameworks", files=[("file", ("<b>f.yaml", framework))])
    _refused(answer, "&lt;b&gt;f.yaml: YAML として読めません(4 行目 10 文字目): "
                     "ここでは「:」でキーを始められません")
    assert "基準" not in answer.text  # nothing was loaded under that title


def test_comments_that_are_not_yaml_or_csv_are_refused_in_japanese(
        staff: TestClient, consultation_key: str) -> None:
    path = f"/plan/consultations/{consultation_key}/import"
    comments = "format: renkei-comments/1\ncomments:\n- number: 1\n\tsubmitter: 個人\n".encode()
    _refused(_send(staff, path, files=[("file", ("c.yaml", comments))]),
             "c.yaml: YAML として読めません(4 行目 1 文字目): タブ文字があります")
    rows = ('number,submitter,summary\n1,個人(1),"閉じない引用符\n' + "続き\n" * 70_000).encode()
    _refused(_send(staff, path, files=[("file", ("c.csv", rows))]),
             "c.csv: CSV として読めません(2 行目): 131072 文字を超える欄があります")


def test_a_new_year_s_plan_that_is_not_yaml_is_refused_in_japanese(staff: TestClient) -> None:
    plan = "format: renkei-plan/1\nyear: 2030\ntitle: '計画\nnodes: []\n".encode()
    answer = _send(staff, "/plan/years", {"year": "2030", "from": "2015"},
                   files=[("plan", ("plan.yaml", plan))])
    _refused(answer, "plan: YAML として読めません(3 行目 8 文字目): 引用符が閉じられていません")
