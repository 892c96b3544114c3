"""Every file the package writes is complete or absent (bisenet.atomic)."""

from __future__ import annotations

import pytest

from bisenet.atomic import append_line, atomic_path, atomic_write, read_lines, remove_stale, write_json


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "a.json"
    write_json(path, {"v": 1})
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(path, "w") as f:
            f.write('{"v": 2')
            raise KeyboardInterrupt("killed")
    assert path.read_text() == '{\n  "v": 1\n}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_a_writer_that_wants_a_name_gets_one_with_the_suffix(tmp_path):
    with atomic_path(tmp_path / "clip.mp4", keep_suffix=True) as tmp:
        assert tmp.suffix == ".mp4" and tmp.name.startswith(".clip.mp4.")
        tmp.write_bytes(b"frames")
    assert (tmp_path / "clip.mp4").read_bytes() == b"frames"
    with pytest.raises(FileNotFoundError, match="nothing was written"):
        with atomic_path(tmp_path / "never.bin"):
            pass
    assert not (tmp_path / "never.bin").exists()


def test_a_torn_last_line_is_left_out_and_stale_temporaries_removed(tmp_path):
    log = tmp_path / "log.jsonl"
    append_line(log, '{"iter": 1}')
    append_line(log, '{"iter": 2}')
    with open(log, "a") as f:
        f.write('{"iter": 3, "lo')  # a crash in the middle of a line
    assert read_lines(log) == ['{"iter": 1}', '{"iter": 2}']
    with pytest.raises(ValueError, match="one line"):
        append_line(log, "a\nb")
    (tmp_path / ".iter_9.pth.123.tmp").write_bytes(b"half")
    (tmp_path / ".clip.mp4.123.tmp.mp4").write_bytes(b"half")
    remove_stale(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.jsonl"]


def test_an_exclusive_lock_makes_a_second_holder_wait(tmp_path):
    import threading
    import time

    from bisenet.atomic import exclusive_lock

    order = []

    def second():
        with exclusive_lock(tmp_path / "a.lock"):
            order.append("second")

    with exclusive_lock(tmp_path / "a.lock"):
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.2)
        order.append("first done")
    thread.join(timeout=10)
    assert order == ["first done", "second"]


def test_a_place_that_cannot_be_written_is_refused_before_the_work(tmp_path):
    from bisenet.atomic import check_writable
    from bisenet.errors import OutputError

    (tmp_path / "file").write_text("x")
    assert check_writable(tmp_path / "new" / "a.csv") == tmp_path / "new" / "a.csv"
    with pytest.raises(OutputError, match="is a file, not a folder"):
        check_writable(tmp_path / "file" / "a.csv")
    with pytest.raises(OutputError, match="it is a folder"):
        check_writable(tmp_path)
