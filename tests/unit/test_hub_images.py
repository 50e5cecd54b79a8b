"""A mirror that is not a pull-through cache: the registry's 404 judged, the config's reasons found.

No Docker: recorded answers, the example config broken as users break it, and
a fake registry for the one request.
"""

from __future__ import annotations

import json

import requests

from mirrorcheck.options import EXAMPLES
from mirrorcheck.probes.registry_api import Answer, RegistryClient
from mirrorcheck.targets.hub_images import (
    ask_mirror,
    not_served,
    remoteurl_errors,
    with_reasons,
)

URL = "https://mirror.test/v2/mirrorcheck/hub-image/manifests/v1"
API = {"Docker-Distribution-Api-Version": "registry/2.0"}
HELD = "the lab pushed it to Docker Hub's stand-in"
REFERENCE = (EXAMPLES / "registry-config.yml").read_text()
STACK = EXAMPLES / "registry-stack.yml"


def unknown(code: str = "MANIFEST_UNKNOWN", headers: dict[str, str] | None = None) -> Answer:
    # Recorded: distribution 2.8 without proxy.remoteurl, asked for a tag it never had.
    body = json.dumps({"errors": [{"code": code, "message": "manifest unknown", "detail": {}}]})
    return Answer(URL, 404, API if headers is None else headers, body.encode())


def test_the_registrys_own_404_for_an_image_docker_hub_holds_is_the_cause():
    problem = not_served(unknown(), HELD)
    assert problem is not None
    assert problem.startswith(f"it did not serve an image Docker Hub holds ({HELD})")
    assert f"GET {URL} answered HTTP 404 MANIFEST_UNKNOWN" in problem
    assert "not a pull-through cache" in problem
    assert "NAME_UNKNOWN" in (not_served(unknown("NAME_UNKNOWN"), HELD) or "")
    # HEAD-like: no body, but the registry's header says who answered.
    assert "registry/2.0" in (not_served(Answer(URL, 404, API), HELD) or "")


def test_only_the_registrys_own_404_proves_anything():
    assert not_served(Answer(URL, 200, API, b"{}"), HELD) is None
    assert not_served(Answer(URL, 401, {"WWW-Authenticate": "Bearer realm=x"}), HELD) is None
    assert not_served(Answer(URL, None, error="ConnectionError: refused"), HELD) is None
    # A reverse proxy's own 404 (Traefik: no route) is not the registry speaking.
    assert not_served(Answer(URL, 404, {}, b"404 page not found\n"), HELD) is None
    assert not_served(unknown("BLOB_UNKNOWN", headers={}), HELD) is None
    assert not_served(Answer(URL, 500, API, b'{"errors":[{"code":"UNKNOWN"}]}'), HELD) is None


def test_the_missing_proxy_section_is_the_reason_given(tmp_path):
    config = tmp_path / "config.yml"
    config.write_text(REFERENCE.split("proxy:")[0])
    (found,) = remoteurl_errors(config)
    assert found.code == "registry-config/proxy-missing"
    assert [f.code for f in remoteurl_errors(config, STACK, "mirror.test")] == [found.code]


def test_a_camel_case_remote_url_is_the_reason_given_at_its_line(tmp_path):
    config = tmp_path / "config.yml"
    config.write_text(REFERENCE.replace("remoteurl", "remoteUrl"))
    (found,) = remoteurl_errors(config, STACK, "mirror.test")
    assert found.code == "registry-config/proxy-remoteurl-case"
    assert (found.line, found.column) == (22, 3)
    text = with_reasons("it did not serve ...", [found])
    assert text.splitlines()[0] == "it did not serve ...; the registry config says why:"
    assert text.splitlines()[1].startswith(f"{config}:22:3: error [{found.code}]")


def test_the_reference_config_or_an_unreadable_one_gives_no_reason(tmp_path):
    assert remoteurl_errors(EXAMPLES / "registry-config.yml", STACK, "mirror.test") == []
    assert remoteurl_errors(tmp_path / "missing.yml") == []
    assert with_reasons("it did not serve ...", []) == "it did not serve ..."


class _Answering(requests.Session):
    """A session that answers every request with one recorded response, keeping the request."""

    def __init__(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        super().__init__()
        self.answer = (status, body, headers)
        self.asked: list[tuple[str, str]] = []

    def request(self, method, url, **kwargs):  # type: ignore[override]
        self.asked.append((method, url))
        response = requests.Response()
        response.status_code, response._content, headers = self.answer
        response.headers.update(headers)
        response.url = url
        response.request = requests.Request(method, url).prepare()
        return response


def test_the_mirror_is_asked_once_for_the_manifest_by_tag_as_a_node_asks():
    session = _Answering(404, unknown().body, API)
    problem = ask_mirror(
        RegistryClient("https://mirror.test", session=session), "mirrorcheck/hub-image", "v1", HELD
    )
    assert session.asked == [("GET", URL)]
    assert problem is not None and "MANIFEST_UNKNOWN" in problem
    served = _Answering(200, b"{}", {**API, "Docker-Content-Digest": "sha256:" + "a" * 64})
    client = RegistryClient("https://mirror.test", session=served)
    assert ask_mirror(client, "mirrorcheck/hub-image", "v1", HELD) is None
