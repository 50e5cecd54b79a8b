"""A service's tasks read from the Engine API mean what ``docker service ps`` would show."""

from __future__ import annotations

from mirrorcheck.targets.lab.swarm.tasks import failures, parse_api_tasks, parse_tasks, running

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z
HOSTNAMES = {"n1": "node-1", "n2": "node-2"}


def _task(id_, slot, node, state, desired="running", err="", updated="2027-01-15T07:59:50Z"):
    return {
        "ID": id_,
        "Slot": slot,
        "NodeID": node,
        "DesiredState": desired,
        "UpdatedAt": updated,
        "Status": {"State": state, "Err": err, "Timestamp": "2027-01-15T07:59:48.123456789Z"},
    }


def test_a_running_task_reads_as_the_cli_shows_it():
    (task,) = parse_api_tasks([_task("t1", 1, "n2", "running")], "mirror_registry", HOSTNAMES, NOW)
    assert task.name == "mirror_registry.1" and task.node == "node-2"
    assert task.desired == "Running" and task.current == "Running 12 seconds ago"
    assert task.running and not task.failed
    assert running([task]) == [task]


def test_a_global_jobs_tasks_are_named_by_node_and_count_as_completed():
    entries = [_task(f"t{i}", 0, f"n{i}", "complete", desired="complete") for i in (1, 2)]
    tasks = parse_api_tasks(entries, "mirrorcheck-daemon-json", HOSTNAMES, NOW)
    assert sorted(t.name for t in tasks) == [
        "mirrorcheck-daemon-json.n1",
        "mirrorcheck-daemon-json.n2",
    ]
    assert all(t.completed for t in tasks)


def test_a_rejected_task_is_a_failure_with_its_error():
    entries = [
        _task("t1", 1, "n1", "rejected", desired="shutdown", err="No such image: registry:2")
    ]
    tasks = parse_api_tasks(entries, "mirror_registry", HOSTNAMES, NOW)
    assert failures(tasks) == [
        "mirror_registry.1 on node-1: Rejected 12 seconds ago: No such image: registry:2"
    ]


def test_the_newest_task_comes_first_and_an_unknown_node_keeps_its_id():
    entries = [
        _task("old", 1, "n1", "shutdown", desired="shutdown", updated="2027-01-15T07:59:00Z"),
        _task("new", 1, "n9", "running", updated="2027-01-15T07:59:59Z"),
    ]
    tasks = parse_api_tasks(entries, "mirror_registry", HOSTNAMES, NOW)
    assert [t.id for t in tasks] == ["new", "old"]
    assert tasks[0].node == "n9"


def test_the_api_and_the_cli_give_the_same_meaning():
    cli = parse_tasks(
        '{"ID":"t1","Name":"mirror_registry.1","Node":"node-2","DesiredState":"Running",'
        '"CurrentState":"Running 12 seconds ago","Error":""}\n'
    )
    api = parse_api_tasks([_task("t1", 1, "n2", "running")], "mirror_registry", HOSTNAMES, NOW)
    assert api == cli


def test_an_unreadable_timestamp_leaves_the_state_alone():
    entry = _task("t1", 1, "n1", "running")
    entry["Status"]["Timestamp"] = "yesterday"
    (task,) = parse_api_tasks([entry], "mirror_registry", HOSTNAMES, NOW)
    assert task.current == "Running"
