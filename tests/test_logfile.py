"""The rotating log: where it goes ($LIVEART_LOG_DIR, XDG state) and that it rotates."""
import logging
from pathlib import Path

import pytest

from liveart.errors import UserError
from liveart.logfile import close_log_file, log_path, open_log_file
from liveart.userdirs import log_dir


def test_log_dir_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LIVEART_LOG_DIR", str(tmp_path / "logs"))
    assert log_dir() == tmp_path / "logs"
    assert log_path(None) == tmp_path / "logs" / "liveart.log"
    assert log_path("show.log") == Path("show.log")  # --log FILE is taken as given
    monkeypatch.delenv("LIVEART_LOG_DIR")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert log_dir() == tmp_path / "state" / "liveart" / "log"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/ignored")
    assert log_dir().parts[-4:] == (".local", "state", "liveart", "log")


def test_the_log_rotates_and_keeps_a_few_files(tmp_path):
    logger = logging.getLogger("liveart.test_logfile")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    path = tmp_path / "deep" / "liveart.log"
    handler = open_log_file(path, logger=logger, max_bytes=2000, backups=2)
    try:
        for i in range(300):
            logger.info("tick %04d: the show goes on", i)
    finally:
        close_log_file(handler, logger=logger)
        logger.propagate = True
    names = sorted(p.name for p in path.parent.iterdir())
    assert names == ["liveart.log", "liveart.log.1", "liveart.log.2"]
    assert all(p.stat().st_size <= 2100 for p in path.parent.iterdir())
    last = path.read_text().splitlines()[-1]
    assert last.endswith("INFO liveart.test_logfile: tick 0299: the show goes on")
    assert last[:4].isdigit()  # a timestamp first


def test_an_unwritable_log_is_one_sentence(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(UserError, match="Can't write the log file"):
        open_log_file(tmp_path / "file" / "liveart.log")
