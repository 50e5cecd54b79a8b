"""A user's own Traefik, pointed at the lab's ACME CA and nothing else changed (no Docker)."""

from __future__ import annotations

import pytest
import yaml

from mirrorcheck.targets.lab.edge.user_traefik import (
    AcmeSettings,
    UserTraefikError,
    read_user_traefik,
    refresh_seconds,
    user_image,
    user_stack,
    user_static_config,
)

ACME = AcmeSettings(
    ca_server="https://acme.test:14000/dir",
    acme_host="acme.test",
    acme_address="192.168.0.2",
    ca_host_path="/srv/ca.crt",
    ca_path="/etc/ca.crt",
)
STACK = """
services:
  proxy:
    image: traefik:v3.1
    command:
      - --providers.swarm.endpoint=unix:///var/run/docker.sock
      - --entrypoints.websecure.address=:443
      - --certificatesresolvers.le.acme.storage=/letsencrypt/acme.json
      - --certificatesresolvers.le.acme.caserver=https://acme-v02.api.letsencrypt.org/directory
      - --certificatesresolvers.le.acme.tlschallenge=true
    environment:
      - TZ=UTC
    ports:
      - 443:443
    volumes:
      - letsencrypt:/letsencrypt
volumes:
  letsencrypt: {}
"""
STATIC = """
entryPoints:
  websecure: {address: ":443"}
certificatesResolvers:
  le:
    acme:
      storage: /letsencrypt/acme.json
      tlsChallenge: {}
"""


def test_only_the_acme_server_and_what_reaching_it_needs_change():
    prepared = user_stack(STACK, "traefik-stack.yml", ACME)
    service = yaml.safe_load(prepared.text)["services"]["proxy"]
    assert (prepared.service, prepared.image) == ("proxy", "traefik:v3.1")
    assert (
        "--certificatesresolvers.le.acme.caserver=https://acme.test:14000/dir"
        in (service["command"])
    )
    assert not any("letsencrypt.org" in argument for argument in service["command"])
    assert "--certificatesresolvers.le.acme.storage=/letsencrypt/acme.json" in service["command"]
    assert service["environment"] == {"TZ": "UTC", "LEGO_CA_CERTIFICATES": "/etc/ca.crt"}
    assert service["extra_hosts"] == ["acme.test:192.168.0.2"]
    assert service["volumes"] == ["letsencrypt:/letsencrypt", "/srv/ca.crt:/etc/ca.crt:ro"]
    assert service["ports"] == [{"target": 443, "published": 443, "mode": "host"}]
    assert len(prepared.substitutions) == 2 and "Pebble" in prepared.substitutions[0]


def test_a_stack_without_traefik_or_without_resolvers_is_refused_with_the_fix():
    with pytest.raises(UserTraefikError, match="no service runs a traefik image"):
        user_stack("services: {registry: {image: 'registry:2'}}", "s.yml", ACME)
    with pytest.raises(UserTraefikError, match="static configuration"):
        user_stack("services: {proxy: {image: 'traefik:v3.1'}}", "s.yml", ACME)


def test_a_static_configuration_gets_the_labs_ca_server():
    pointed = yaml.safe_load(user_static_config(STATIC, "traefik.yml", ACME.ca_server))
    assert pointed["certificatesResolvers"]["le"]["acme"] == {
        "storage": "/letsencrypt/acme.json",
        "tlsChallenge": {},
        "caServer": "https://acme.test:14000/dir",
    }
    with pytest.raises(UserTraefikError, match="no ACME resolver"):
        user_static_config("entryPoints: {}", "traefik.yml", ACME.ca_server)


def test_the_file_kind_is_told_by_its_services(tmp_path):
    stack, static = tmp_path / "stack.yml", tmp_path / "traefik.yml"
    stack.write_text(STACK)
    static.write_text(STATIC)
    assert read_user_traefik(str(stack)) == (STACK, None)
    assert read_user_traefik(str(static)) == (None, STATIC)
    assert read_user_traefik(None) == (None, None)
    assert user_image(STACK, "stack.yml") == "traefik:v3.1"
    with pytest.raises(UserTraefikError, match="cannot be read"):
        read_user_traefik(str(tmp_path / "missing.yml"))
    broken = tmp_path / "broken.yml"
    broken.write_text("services: [\n")
    with pytest.raises(UserTraefikError, match="not YAML"):
        read_user_traefik(str(broken))


def test_the_swarm_poll_interval_is_read_from_a_flag_or_a_key_else_traefiks_default():
    assert refresh_seconds("    - --providers.swarm.refreshSeconds=5\n") == 5
    assert refresh_seconds("providers:\n  swarm:\n    refreshSeconds: 30\n") == 30
    assert refresh_seconds("providers:\n  swarm:\n    network: traefik_public\n") == 15
