"""The engines table and the checks of --engine / --image-store (no Docker)."""

from __future__ import annotations

import pytest
import tomllib

from mirrorcheck.targets.lab.nodes import NodeSpec, hosts_toml, store_flags
from mirrorcheck.targets.lab.topology import LabSpec
from mirrorcheck.versions import (
    BLOB_ANSWERS,
    BLOB_FALLBACK_MEASURED,
    CLASSIC,
    CONTAINERD,
    DEFAULT_ENGINE,
    ENGINES,
    FALLBACK_LOG_LINES,
    IMAGE_STORES,
    MIRROR_LOST_BLOB,
    SINCE,
    engine_for_node,
    engine_has,
    engine_problems,
    image_store_of,
    moves_on,
    split_engines,
    store_for,
)


def test_the_default_lab_is_engine_28_5_with_the_containerd_store():
    # The closest to a fresh Engine 29 install; 20.10 runs the classic store.
    assert DEFAULT_ENGINE == "28.5"
    assert store_for(DEFAULT_ENGINE, None) == CONTAINERD
    assert store_for("20.10", None) == CLASSIC


def test_every_engine_names_its_suite_packages_stores_and_source():
    assert {e: ENGINES[e].debian_suite for e in ENGINES} == {
        "20.10": "bookworm",
        "26.1": "trixie",
        "28.5": "sid",
    }
    for engine in ENGINES.values():
        assert "docker.io" in engine.packages and engine.source
        assert engine.default_image_store in engine.image_stores
    assert ENGINES["20.10"].image_stores == (CLASSIC,)
    assert "docker-cli" in ENGINES["28.5"].packages


def test_fallback_lines_per_store_and_behaviours_by_release_have_sources():
    assert FALLBACK_LOG_LINES[CLASSIC].text == "Attempting next endpoint"
    assert FALLBACK_LOG_LINES[CONTAINERD].text == "trying next host"
    assert all(fact.source for fact in [*FALLBACK_LOG_LINES.values(), *SINCE.values()])


@pytest.mark.parametrize(
    ("engine", "behaviour", "has"),
    [
        ("20.10", "validate_flag", False),
        ("26.1", "validate_flag", True),
        ("20.10", "bom_accepted", False),
        ("28.5", "bom_accepted", True),
        ("20.10", "proxies_key", False),
        ("26.1", "mirror_paths", True),
        ("24.0", "mirror_paths", False),
        ("26.1", "mirror_validation", False),
        ("28.5", "mirror_validation", True),
    ],
)
def test_behaviours_follow_their_release(engine, behaviour, has):
    assert engine_has(engine, behaviour) is has


def test_engines_are_split_normalised_and_given_to_nodes_in_order():
    assert split_engines(["28.5,20.10", "v26.1.5"]) == ["28.5", "20.10", "26.1"]
    assert [engine_for_node([], i) for i in (1, 2)] == [DEFAULT_ENGINE, DEFAULT_ENGINE]
    assert [engine_for_node(["20.10"], i) for i in (1, 3)] == ["20.10", "20.10"]
    assert [engine_for_node(["28.5,20.10"], i) for i in (1, 2)] == ["28.5", "20.10"]


def test_good_choices_have_no_problems():
    assert engine_problems([], None) == []
    assert engine_problems(["28.5,20.10,26.1"], None, 3) == []
    assert engine_problems(["28.5", "20.10"], CLASSIC) == []  # length unknown: lab checks
    assert engine_problems(["20.10"], CLASSIC, 3) == []


def test_an_unknown_engine_names_the_known_ones():
    (problem,) = engine_problems(["27.0"], None)
    assert "--engine 27.0" in problem and "20.10, 26.1, 28.5" in problem and "Fix:" in problem


def test_a_list_that_fits_no_node_count_is_refused_with_the_fix():
    (problem,) = engine_problems(["28.5,20.10"], None, 3)
    assert "2 engines" in problem and "3 nodes" in problem and "--nodes 2" in problem


def test_an_image_store_an_engine_lacks_is_refused():
    (problem,) = engine_problems(["28.5,20.10"], CONTAINERD, 2)
    assert "Engine 20.10 has no containerd image store" in problem and "Fix:" in problem
    (unknown,) = engine_problems([], "zfs")
    assert "--image-store zfs" in unknown and "containerd or classic" in unknown


def test_containerd_on_an_engine_without_the_flag_asks_for_the_file_instead():
    (problem,) = engine_problems(["26.1"], CONTAINERD)
    assert "no --feature flag" in problem and '"containerd-snapshotter": true' in problem
    assert "28.5" in problem and ENGINES["28.5"].store_flag and not ENGINES["26.1"].store_flag


def test_the_store_is_chosen_by_flag_unless_the_file_sets_features():
    plain = b'{"registry-mirrors": ["https://mirror.test"]}'
    assert store_flags(plain, CONTAINERD) == ["--feature", "containerd-snapshotter=true"]
    assert store_flags(plain, CLASSIC) == []
    # dockerd refuses `features` both as flag and in the file (measured on 28.5.2).
    assert store_flags(b'\xef\xbb\xbf{"features": {"buildkit": true}}', CONTAINERD) == []
    assert store_flags(b"{not json", CONTAINERD) == ["--feature", "containerd-snapshotter=true"]


def test_a_node_spec_runs_its_engines_store_and_keeps_its_own_flags():
    spec = NodeSpec("node-1", b"{}", engine="28.5", dockerd_args=["--debug"])
    assert spec.command() == ["--feature", "containerd-snapshotter=true", "--debug"]
    assert NodeSpec("node-2", b"{}", engine="20.10").command() == []
    assert NodeSpec("node-3", b"{}", engine="28.5", image_store=CLASSIC).command() == []
    assert NodeSpec("node-4", b"{}").command() == []  # an image of unknown engine: no flag
    assert NodeSpec("node-5", b"{}", engine="26.1", image_store=CONTAINERD).command() == []


def test_the_image_store_is_read_from_docker_info_driver_status():
    # Recorded: 28.5.2 with the containerd store, 20.10.24 with overlay2.
    assert image_store_of([["driver-type", "io.containerd.snapshotter.v1"]]) == CONTAINERD
    overlay2 = [["Backing Filesystem", "tmpfs"], ["Supports d_type", "true"]]
    assert image_store_of(overlay2) == CLASSIC
    assert image_store_of(None) == CLASSIC


def test_a_lab_gives_each_node_its_engine_image_and_store():
    images = {
        "node": "n:28",
        "node-28.5": "n:28",
        "node-20.10": "n:20",
        "registry": "r",
        "proxy": "p",
    }
    spec = LabSpec(images, "version: 0.1\n", b"{}", node_count=3, engines=["28.5,20.10,28.5"])
    made = [(s.name, s.engine, s.image, s.store) for s in spec.node_specs()]
    assert made == [
        ("node-1", "28.5", "n:28", CONTAINERD),
        ("node-2", "20.10", "n:20", CLASSIC),
        ("node-3", "28.5", "n:28", CONTAINERD),
    ]
    default = LabSpec(images, "", b"{}", node_count=2).node_specs()
    assert {(s.engine, s.store) for s in default} == {(DEFAULT_ENGINE, CONTAINERD)}


def test_a_hosts_toml_lists_its_hosts_before_docker_hub():
    text = hosts_toml("https://a.test", "https://b.test").decode()
    parsed = tomllib.loads(text)
    assert parsed["server"] == "https://registry-1.docker.io"
    assert list(parsed["host"]) == ["https://a.test", "https://b.test"]


def test_a_containerd_node_leaves_the_mirror_for_one_blob_on_404_and_5xx_only():
    assert moves_on(CONTAINERD, "404") and moves_on(CONTAINERD, "503")
    assert moves_on(CONTAINERD, "500")
    # A 200 whose body ends early (a lost blob, distribution#2367) fails the pull instead.
    assert not moves_on(CONTAINERD, "200-empty")
    # The classic store leaves the mirror for the whole pull on each of them.
    assert all(moves_on(CLASSIC, answer) for answer in BLOB_ANSWERS)
    with pytest.raises(KeyError):
        moves_on(CONTAINERD, "418")


def test_every_blob_answer_is_sourced_for_both_stores():
    for answer, per_store in BLOB_ANSWERS.items():
        assert set(per_store) == set(IMAGE_STORES), answer
        for fact in per_store.values():
            assert BLOB_FALLBACK_MEASURED in fact.source, (answer, fact.source)
    assert "distribution#2367" in MIRROR_LOST_BLOB.source
