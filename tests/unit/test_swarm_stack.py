"""The swarm topology's pure parts: the stack copy it deploys, task history, the global job."""

from __future__ import annotations

import pytest
import yaml

from mirrorcheck.options import EXAMPLES
from mirrorcheck.settings import Settings
from mirrorcheck.targets.lab.certs import DOCKER_HUB_NAMES
from mirrorcheck.targets.lab.swarm.daemon_job import parse_job_log
from mirrorcheck.targets.lab.swarm.links import edge_network, log_driver
from mirrorcheck.targets.lab.swarm.stack import (
    STACK_DIR,
    StackError,
    host_forced,
    host_mode_port,
    prepare_stack,
    shared_mounts,
)
from mirrorcheck.targets.lab.swarm.tasks import failures, parse_tasks, running

EXAMPLE = (EXAMPLES / "registry-stack.yml").read_text()


def prepare(text: str = EXAMPLE, **kwargs):
    kwargs.setdefault("fqdn", "mirror.test")
    kwargs.setdefault("hub_address", "172.18.0.2")
    return prepare_stack(text, "stack.yml", **kwargs)


def registry_of(prepared) -> dict:
    return yaml.safe_load(prepared.text)["services"][prepared.registry_service]


def test_the_example_stack_keeps_what_it_says_and_fills_the_fqdn():
    prepared = prepare()
    service = registry_of(prepared)
    original = yaml.safe_load(EXAMPLE)["services"]["registry-mirror"]
    assert service["volumes"] == original["volumes"]
    assert service["networks"] == original["networks"]
    assert (
        "traefik.http.routers.registry-mirror.rule=Host(`mirror.test`)"
        in (service["deploy"]["labels"])
    )
    assert prepared.external_networks == ["traefik_public"]
    assert prepared.images == ["registry:2"]


# The guide's stack publishes the registry's plain port through the routing mesh.
PUBLISHING = EXAMPLE.replace(
    "    networks:\n      - traefik_public\n",
    "    networks:\n      - traefik_public\n    ports:\n      - 5000:5000\n",
    1,
)


def test_ingress_ports_are_published_in_host_mode_and_the_report_says_why():
    prepared = prepare(PUBLISHING)
    assert {"target": 5000, "published": 5000, "mode": "host"} in registry_of(prepared)["ports"]
    (line,) = [s for s in prepared.substitutions if s.startswith("ports 5000:5000")]
    assert "IPVS" in line and "host mode" in line
    # The long port syntax needs file format 3.2: the copy says so too.
    assert yaml.safe_load(prepared.text)["version"] == "3.2"
    assert any(s.startswith("version 3 -> 3.2") for s in prepared.substitutions)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("5000:5000", {"target": 5000, "published": 5000, "mode": "host"}),
        ("127.0.0.1:8080:5000", {"target": 5000, "published": 8080, "mode": "host"}),
        ("5000/udp", {"target": 5000, "published": 5000, "mode": "host", "protocol": "udp"}),
        ({"target": 5000, "published": 80}, {"target": 5000, "published": 80, "mode": "host"}),
        ({"target": 5000, "published": 80, "mode": "host"}, None),
        ("5000-5001:5000-5001", None),
    ],
)
def test_host_mode_port(entry, expected):
    assert host_mode_port(entry) == expected


def test_a_stack_already_in_host_mode_is_left_as_written():
    text = EXAMPLE.replace(
        "      - 5000:5000", "      - {target: 5000, published: 5000, mode: host}"
    )
    text = text.replace('version: "3"', 'version: "3.8"')
    prepared = prepare(text)
    assert not [s for s in prepared.substitutions if s.startswith(("ports", "version"))]


def test_docker_hubs_names_are_pinned_for_the_registry_alone():
    prepared = prepare()
    hosts = registry_of(prepared)["extra_hosts"]
    assert hosts == [f"{name}:172.18.0.2" for name in DOCKER_HUB_NAMES]
    assert any(
        s.startswith("extra_hosts of service registry-mirror") for s in prepared.substitutions
    )


def test_the_debug_port_is_published_only_when_the_lab_set_it():
    assert not any("5001" in s for s in prepare().substitutions)
    prepared = prepare(debug_port=5001)
    assert {"target": 5001, "published": 5001, "mode": "host"} in registry_of(prepared)["ports"]


def test_a_log_driver_the_nodes_lack_becomes_json_file_for_services_naming_none():
    text, changes = host_forced(EXAMPLE, "mirror", node_log_driver="journald")
    service = yaml.safe_load(text)["services"]["registry-mirror"]
    assert service["logging"] == {"driver": "json-file"}
    (line,) = changes
    assert "journald" in line and "registry-mirror (mirror)" in line
    assert host_forced(EXAMPLE, "mirror", node_log_driver="json-file") == (EXAMPLE, [])


def test_a_service_with_its_own_logging_keeps_it():
    text = EXAMPLE.replace(
        "    image: registry:2", "    image: registry:2\n    logging: {driver: local}"
    )
    changed, changes = host_forced(text, "mirror", node_log_driver="journald")
    assert changes == [] and changed == text


def test_bind_sources_and_the_config_file_are_found_and_shared_under_one_folder():
    prepared = prepare()
    assert prepared.bind_sources == [
        "/var/data/registry/registry-mirror-config.yml",
        "/var/data/registry/registry-mirror-data",
    ]
    assert prepared.config_source == "/var/data/registry/registry-mirror-config.yml"
    assert shared_mounts(prepared.bind_sources) == ["/var/data/registry"]


def test_shared_mounts_never_cover_a_top_level_folder():
    assert shared_mounts(["/data", "/var/x", "/srv/a/b/c", "/srv/a/b/d"]) == [
        "/data",
        "/var/x",
        "/srv/a/b",
    ]


def test_relative_bind_sources_live_next_to_the_stack_copy():
    text = EXAMPLE.replace("/var/data/registry/registry-mirror-data", "./data")
    assert f"{STACK_DIR}/data" in prepare(text).bind_sources


def test_external_networks_by_every_spelling():
    text = EXAMPLE.replace(
        "  traefik_public:\n    external: true",
        "  traefik_public:\n    external:\n      name: edge\n  other:\n    driver: overlay",
    )
    assert prepare(text).external_networks == ["edge"]


def test_a_stack_without_a_registry_service_is_refused_with_its_file():
    text = "version: '3'\nservices:\n  a: {image: nginx}\n  b: {image: redis}\n"
    with pytest.raises(StackError, match=r"stack\.yml"):
        prepare(text)


PS = "\n".join(
    [
        '{"CurrentState":"Running 2 seconds ago","DesiredState":"Running","Error":"",'
        '"ID":"t3","Name":"mirror_registry.1","Node":"node-2"}',
        '{"CurrentState":"Failed 9 seconds ago","DesiredState":"Shutdown",'
        '"Error":"task: non-zero exit (2)","ID":"t2","Name":" \\\\_ mirror_registry.1",'
        '"Node":"node-1"}',
        '{"CurrentState":"Shutdown 20 seconds ago","DesiredState":"Shutdown","Error":"",'
        '"ID":"t1","Name":" \\\\_ mirror_registry.1","Node":"node-1"}',
    ]
)


def test_task_history_tells_a_crash_from_a_replaced_task():
    tasks = parse_tasks(PS + "\nnot json\n")
    assert [t.id for t in running(tasks)] == ["t3"]
    assert running(tasks, exclude={"t3"}) == []
    (failure,) = failures(tasks)
    assert "node-1" in failure and "non-zero exit (2)" in failure


def test_a_completed_job_task_is_not_a_failure():
    line = (
        '{"CurrentState":"Complete 1 second ago","DesiredState":"Shutdown","Error":"",'
        '"ID":"j1","Name":"job.x","Node":"node-1"}'
    )
    (task,) = parse_tasks(line)
    assert task.completed and not task.failed


def test_the_global_jobs_log_gives_each_nodes_file_and_mirrors():
    log = "\n".join(
        [
            "--- daemon.json of node-1",
            '{"registry-mirrors": ["https://mirror.test"]}',
            "--- mirrors node-1",
            '["https://mirror.test/"]',
            "--- end",
            "--- daemon.json of node-2",
            "{}",
            "--- mirrors node-2",
            "Cannot connect to the Docker daemon",
            "--- end",
        ]
    )
    rows = parse_job_log(log)
    assert rows["node-1"].mirrors == ["https://mirror.test/"]
    assert "registry-mirrors" in rows["node-1"].daemon_json
    assert rows["node-2"].mirrors == [] and "Cannot connect" in rows["node-2"].error


def test_topology_is_swarm_unless_told_and_an_unknown_one_is_refused(monkeypatch):
    monkeypatch.delenv("MIRRORCHECK_TOPOLOGY", raising=False)
    assert Settings.from_mapping({}).topology == "swarm"
    assert Settings.from_mapping({"topology": "plain"}).topology == "plain"
    problems = Settings.from_mapping({"topology": "mesh"}).problems()
    assert any(p.startswith("--topology mesh: unknown") for p in problems), problems


def test_options_a_topology_cannot_honour_are_usage_errors(monkeypatch):
    monkeypatch.delenv("MIRRORCHECK_TOPOLOGY", raising=False)
    on_swarm = Settings.from_mapping({"lab-fault": ["cert-expired"]}).problems()
    assert any("--lab-fault cert-expired" in p and "--topology plain" in p for p in on_swarm)
    plain = Settings.from_mapping({"topology": "plain", "traefik-config": "traefik.yml"})
    assert any("runs no Traefik" in p for p in plain.problems())
    for topology in ("swarm", "plain"):  # a mixed fleet runs on both
        fleet = {"engine": ["28.5,20.10"], "nodes": "2", "topology": topology}
        assert not Settings.from_mapping(fleet).problems()
    assert not Settings.from_mapping(
        {"topology": "plain", "lab-fault": ["cert-expired"]}
    ).problems()


def test_traefiks_network_is_the_stacks_label_else_the_guides():
    assert edge_network(EXAMPLE) == "traefik_public"
    assert edge_network(EXAMPLE.replace("network=traefik_public", "network=edge")) == "edge"
    assert edge_network("services: {}") == "traefik_public"


def test_the_nodes_log_driver_is_read_from_the_daemon_json():
    assert log_driver(b'{"log-driver": "journald"}') == "journald"
    assert log_driver(b"{}") == log_driver(b"not json") == ""
