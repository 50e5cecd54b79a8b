"""A live mirror's access log read from a file: marks and the traffic since."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirrorcheck.targets.live.access_log import AccessLogError, access_log_from_url

RECORDED = Path(__file__).resolve().parent.parent / "data" / "upstream-2.8.2-two-serial-pulls.log"


def test_a_log_file_gives_the_requests_logged_after_a_mark(tmp_path):
    lines = RECORDED.read_text().splitlines(keepends=True)
    log_file = tmp_path / "registry.log"
    log_file.write_text("".join(lines[: len(lines) // 2]))
    log = access_log_from_url(str(log_file))
    mark = log.mark()
    assert mark > 0
    assert len(log.traffic(mark)) == 0
    log_file.write_text("".join(lines))
    later = log.traffic(mark)
    assert len(later) == log.mark() - mark > 0


def test_a_relative_path_is_refused_with_the_fix():
    with pytest.raises(AccessLogError, match="absolute path"):
        access_log_from_url("registry.log")


def test_an_unknown_scheme_is_refused_with_the_fix():
    with pytest.raises(AccessLogError, match="docker://CONTAINER"):
        access_log_from_url("ftp://host/log")


def test_a_missing_file_is_refused_naming_it(tmp_path):
    with pytest.raises(AccessLogError, match="cannot read it"):
        access_log_from_url(str(tmp_path / "missing.log"))
