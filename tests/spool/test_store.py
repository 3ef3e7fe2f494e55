"""The spool's read side: ordered streaming listing, claim races, quarantine, caps, expiry, stale leases."""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from helpers import SESSION_START, make_envelope, spool_events
from telemetry_sender.spool import store
from telemetry_sender.spool.layout import lease_name
from telemetry_sender.spool.write import write_event
from telemetry_sender.recording import UnsafePathError
from telemetry_sender.spool.layout import SpoolLayout

START_UNIX = SESSION_START.timestamp()  # the real clock's time when the session started, as sweep takes it


def claim_all(layout: SpoolLayout) -> list[str]:
    """Claim and delete whatever this drainer wins; returns the names it won."""
    won = []
    for name in store.iter_pending_names(layout, chunk=7):
        lease = store.claim(layout, name, int(START_UNIX) + 120)
        if lease is not None:
            store.read_claimed(lease)
            store.delete(lease)
            won.append(name)
    return won


@given(st.lists(st.integers(min_value=0, max_value=10**19), unique=True, max_size=60),
       st.integers(min_value=1, max_value=10))
@settings(max_examples=40, deadline=None)
def test_listing_streams_every_name_once_oldest_first(tmp_path_factory, stamps, chunk):
    layout = SpoolLayout(tmp_path_factory.mktemp("s"))
    names = [write_event(layout, {"n": s}, now_ns=s).name for s in stamps]
    layout.spool.mkdir(parents=True, exist_ok=True)
    (layout.spool / ".x.json.tmp").write_text("")
    (layout.spool / "y.json.123.lease").write_text("")
    assert list(store.iter_pending_names(layout, chunk=chunk)) == sorted(names)


def test_threads_racing_to_claim_send_each_file_once(layout):
    spool_events(layout, 300)
    results: list[list[str]] = [[] for _ in range(6)]
    threads = [threading.Thread(target=lambda i=i: results[i].extend(claim_all(layout))) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    won = [name for r in results for name in r]
    assert len(won) == 300 and len(set(won)) == 300


def _claim_in_process(root: str, queue) -> None:
    queue.put(claim_all(SpoolLayout(Path(root))))


def test_processes_racing_to_claim_send_each_file_once(layout):
    spool_events(layout, 400)
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_claim_in_process, args=(str(layout.root), queue)) for _ in range(4)]
    for p in procs:
        p.start()
    won = [name for _ in procs for name in queue.get(timeout=120)]
    for p in procs:
        p.join(timeout=60)
    assert len(won) == 400 and len(set(won)) == 400


def test_a_claimed_file_cannot_be_claimed_again(layout):
    (name,) = [p.name for p in [write_event(layout, make_envelope())]]
    assert store.claim(layout, name, 1) is not None
    assert store.claim(layout, name, 2) is None


def _quarantine_reason(layout, name):
    lease = store.claim(layout, name, int(START_UNIX) + 120)
    with pytest.raises(store.Unsendable) as caught:
        store.read_claimed(lease)
    store.quarantine(layout, lease, name, str(caught.value), SESSION_START)
    return json.loads((layout.quarantine / f"{name}.why.json").read_text())["reason"]


def _name(n=0):
    return f"{int(START_UNIX * 1e9) + n:020d}-{n:012x}.json"


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"{not json", "corrupt: not JSON"),
        (b"\xff\xfe", "corrupt: not UTF-8"),
        (b"x" * (64 * 1024 + 1), "oversized: 65537 bytes (limit 65536)"),
    ],
)
def test_bad_files_are_quarantined_unchanged_with_a_reason(layout, content, reason):
    layout.spool.mkdir(parents=True)
    (layout.spool / _name()).write_bytes(content)
    assert _quarantine_reason(layout, _name()) == reason
    assert (layout.quarantine / _name()).read_bytes() == content
    assert not list(layout.spool.iterdir())


def test_a_symlink_is_quarantined_never_followed(layout, tmp_path):
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps(make_envelope()))
    layout.spool.mkdir(parents=True)
    (layout.spool / _name()).symlink_to(secret)
    assert _quarantine_reason(layout, _name()) == "symlink"
    assert (layout.quarantine / _name()).is_symlink()  # the link itself moved aside
    assert secret.exists() and json.loads(secret.read_text())  # the target untouched


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX only")
def test_a_fifo_or_folder_is_quarantined_without_blocking(layout):
    layout.spool.mkdir(parents=True)
    os.mkfifo(layout.spool / _name(0))
    (layout.spool / _name(1)).mkdir()
    assert _quarantine_reason(layout, _name(0)) == "not a regular file"
    assert _quarantine_reason(layout, _name(1)) == "not a regular file"


def test_quarantine_and_rejected_are_capped_oldest_first(layout):
    layout.spool.mkdir(parents=True)
    dropped = 0
    for n in range(40):
        (layout.spool / _name(n)).write_bytes(b"x" * 40_000)
        lease = store.claim(layout, _name(n), 1)
        dropped += store.quarantine(layout, lease, _name(n), "corrupt: not JSON", SESSION_START)
    sizes = sum(p.stat().st_size for p in layout.quarantine.iterdir())
    assert sizes <= 1024 * 1024 and dropped > 0
    kept = sorted(p.name for p in layout.quarantine.iterdir() if not p.name.endswith(".why.json"))
    assert kept == [_name(n) for n in range(40 - len(kept), 40)]  # the newest survive, with their reasons
    assert all((layout.quarantine / f"{k}.why.json").exists() for k in kept)
    dropped = 0
    for n in range(40):
        path = write_event(layout, make_envelope(padding="y" * 40_000), now_ns=int(START_UNIX * 1e9) + n)
        lease = store.claim(layout, path.name, 1)
        dropped += store.dead_letter(layout, lease, path.name, make_envelope(padding="y" * 40_000), 400, "bad", SESSION_START)
    assert sum(p.stat().st_size for p in layout.rejected.iterdir()) <= 1024 * 1024 and dropped > 0


def test_sweep_expires_caps_and_repairs(layout):
    day = 24 * 3600 * 10**9
    now_ns = int(START_UNIX * 1e9)
    for n in range(3):  # eight days old: past the 7-day retention
        write_event(layout, make_envelope(), now_ns=now_ns - 8 * day + n)
    for n in range(50):
        write_event(layout, make_envelope(padding="z" * 1000), now_ns=now_ns - day + n)
    stale_tmp = layout.spool / ".dead.json.tmp"
    stale_tmp.write_text("x")
    os.utime(stale_tmp, (START_UNIX - 7200, START_UNIX - 7200))
    fresh_tmp = layout.spool / ".live.json.tmp"
    fresh_tmp.write_text("x")
    newest = max(store.iter_pending_names(layout))
    dead = store.claim(layout, newest, int(START_UNIX) - 5)  # its sender died
    live_name = min(store.iter_pending_names(layout))
    live = store.claim(layout, live_name, int(START_UNIX) + 100)
    total = sum(p.stat().st_size for p in layout.spool.glob("*.json"))
    cap = total // 2
    result = store.sweep(layout, START_UNIX, cap_bytes=cap)
    assert result.expired == 2  # the third old one is leased by a live sender: not ours to touch
    assert result.stale_temp == 1 and not stale_tmp.exists() and fresh_tmp.exists()
    assert result.released_leases == 1 and not dead.exists() and live.exists()
    assert result.evicted > 0 and result.pending_bytes <= cap
    remaining = list(store.iter_pending_names(layout))
    assert newest in remaining  # eviction takes the oldest, never the newest
    assert remaining == sorted(remaining)


def test_sweep_counts_expired_by_the_name_time(layout):
    now_ns = int(START_UNIX * 1e9)
    for n in range(4):
        write_event(layout, make_envelope(), now_ns=now_ns - 8 * 24 * 3600 * 10**9 + n)
    write_event(layout, make_envelope(), now_ns=now_ns)
    result = store.sweep(layout, START_UNIX)
    assert (result.expired, result.pending, result.evicted) == (4, 1, 0)


def test_listing_memory_is_bounded_by_the_chunk(layout, monkeypatch):
    spool_events(layout, 50)
    seen = []
    real = store.heapq.nsmallest
    monkeypatch.setattr(store.heapq, "nsmallest", lambda n, it: seen.append(n) or real(n, it))
    assert len(list(store.iter_pending_names(layout, chunk=8))) == 50
    assert set(seen) == {8} and len(seen) == 7


def test_a_deeply_nested_file_is_quarantined_not_a_crash(layout):
    layout.spool.mkdir(parents=True)
    (layout.spool / _name()).write_bytes(b"[" * 5000 + b"]" * 5000)
    assert _quarantine_reason(layout, _name()) == "corrupt: nested too deeply"


def test_sweep_survives_folders_where_files_belong(layout):
    old_ns = int(START_UNIX * 1e9) - 8 * 24 * 3600 * 10**9
    layout.spool.mkdir(parents=True)
    (layout.spool / f"{old_ns:020d}-000000000001.json").mkdir()  # expired, but not a file to unlink
    (layout.spool / f"{old_ns + 2:020d}-000000000002.json").mkdir()  # a dead lease's way back is blocked
    (layout.spool / lease_name(f"{old_ns + 2:020d}-000000000002.json", 1)).write_text("{}")
    (layout.spool / ".stuck.json.tmp").mkdir()
    os.utime(layout.spool / ".stuck.json.tmp", (START_UNIX - 7200, START_UNIX - 7200))
    store.sweep(layout, START_UNIX)  # used to raise IsADirectoryError: every sender crashed here
    store.sweep(layout, START_UNIX, cap_bytes=0)
    assert not store.delete(layout.spool / f"{old_ns:020d}-000000000001.json")


def test_sweep_reaps_stale_temp_files_left_in_every_folder(layout):
    spool_events(layout, 1)
    stale, fresh = [], []
    for folder in (layout.root, layout.rejected, layout.quarantine):
        folder.mkdir(exist_ok=True)
        old = folder / ".state.json.123.abcd1234.tmp"  # a writer killed between write and rename
        old.write_text("x")
        os.utime(old, (START_UNIX - 7200, START_UNIX - 7200))
        stale.append(old)
        new = folder / ".state.json.456.abcd1234.tmp"
        new.write_text("x")
        fresh.append(new)
    result = store.sweep(layout, START_UNIX)
    assert not any(p.exists() for p in stale) and all(p.exists() for p in fresh)
    assert result.stale_temp == 3 and result.pending == 1


def test_a_lease_from_a_clock_far_ahead_is_released_not_stuck_forever(layout):
    far, near = spool_events(layout, 2) and sorted(store.iter_pending_names(layout))
    far_lease = store.claim(layout, far, int(START_UNIX) + 10 * 365 * 24 * 3600)  # written while the clock was off
    near_lease = store.claim(layout, near, int(START_UNIX) + 100)  # a live sender's
    result = store.sweep(layout, START_UNIX)
    assert result.released_leases == 1 and not far_lease.exists() and near_lease.exists()
    assert list(store.iter_pending_names(layout)) == [far]


def test_the_cap_counts_dead_leases_given_back_in_the_same_sweep(layout):
    for n in range(20):
        write_event(layout, make_envelope(padding="p" * 2000), now_ns=int(START_UNIX * 1e9) + n)
    names = sorted(store.iter_pending_names(layout))
    for name in names[:10]:
        store.claim(layout, name, int(START_UNIX) - 5)  # a crashed sender's claims
    size = (layout.spool / names[-1]).stat().st_size
    result = store.sweep(layout, START_UNIX, cap_bytes=size * 15)
    on_disk = sum(p.stat().st_size for p in layout.spool.iterdir())
    assert result.released_leases == 10 and on_disk <= size * 15
    assert result.pending_bytes == on_disk and result.evicted == 5
    assert sorted(store.iter_pending_names(layout)) == names[5:]  # the oldest went first


def test_writing_an_event_does_not_load_the_read_side():
    code = ("import sys; from telemetry_sender.spool import write; "
            "assert 'telemetry_sender.spool.store' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize(
    "error, reason",
    [
        (UnsafePathError("a FIFO now"), "not a regular file"),
        (OSError(errno.ELOOP, "a symlink now"), "unreadable: ELOOP"),
        (ValueError("grew"), "oversized: over 65536 bytes"),
    ],
)
def test_a_file_swapped_after_the_checks_is_quarantined_with_the_same_reasons(layout, monkeypatch, error, reason):
    layout.spool.mkdir(parents=True)
    (layout.spool / _name()).write_text(json.dumps(make_envelope()))

    def swapped(*args, **kwargs):
        raise error

    monkeypatch.setattr(store, "read_regular_file", swapped)
    assert _quarantine_reason(layout, _name()) == reason


@pytest.mark.parametrize("name", ["x.json.\u00b2.lease", "\u00b2" * 20 + "-ab.json", "\u0661" * 20 + "-ab.json"])
def test_a_foreign_name_with_digit_like_characters_does_not_stop_the_sweep(layout, name):
    layout.spool.mkdir(parents=True)
    (layout.spool / name).write_text("{}")
    write_event(layout, make_envelope())
    result = store.sweep(layout, START_UNIX)
    assert result.pending >= 1 and len(list(store.iter_pending_names(layout))) >= 1


@pytest.mark.skipif(os.name == "nt", reason="POSIX links")
def test_sweep_quarantine_and_caps_never_go_through_a_linked_folder(layout, tmp_path):
    outside = tmp_path / "engineer"
    outside.mkdir()
    for n in range(3):
        (outside / f".x{n}.tmp").write_bytes(b"old")
        os.utime(outside / f".x{n}.tmp", (0, 0))  # stale by age: a sweep inside would reap it
        (outside / f"{n:020d}-aa.json").write_bytes(b"{}" * 1000)
    spool_events(layout, 1)
    os.symlink(outside, layout.rejected)
    os.symlink(outside, layout.quarantine)
    before = sorted((p.name, p.stat().st_size) for p in outside.iterdir())
    name = next(store.iter_pending_names(layout))
    lease = store.claim(layout, name, int(START_UNIX) + 60)
    with pytest.raises(OSError):
        store.quarantine(layout, lease, name, "corrupt", SESSION_START)
    with pytest.raises(OSError):
        store.dead_letter(layout, lease, name, make_envelope(), 400, "bad", SESSION_START)
    assert lease.exists()  # the drain deletes it when neither folder is usable
    store.sweep(layout, START_UNIX, cap_bytes=0)
    assert sorted((p.name, p.stat().st_size) for p in outside.iterdir()) == before


@pytest.mark.skipif(os.name == "nt", reason="POSIX links")
def test_sweep_of_a_linked_spool_folder_touches_nothing(layout, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    old = outside / f"{1:020d}-aa.json"
    old.write_bytes(b"{}")  # recorded in 1970 by its name: expired, if a sweep looked there
    layout.root.mkdir(parents=True, exist_ok=True)
    if layout.spool.exists():
        layout.spool.rmdir()
    os.symlink(outside, layout.spool)
    assert store.sweep(layout, START_UNIX).expired == 0
    assert old.exists()


def test_a_corrupt_file_named_like_a_note_is_quarantined_where_it_can_be_seen(layout):
    from telemetry_sender.support.reader import SpoolReader

    name = _name()[:-5] + ".why.json"
    layout.spool.mkdir(parents=True)
    (layout.spool / name).write_bytes(b"{not json")
    lease = store.claim(layout, name, int(START_UNIX) + 120)
    store.quarantine(layout, lease, name, "corrupt: not JSON", SESSION_START)
    with SpoolReader(layout) as reader:
        quarantined = [f.name for f in reader.quarantined()]
    assert quarantined == [name + ".1"]  # before: kept as `name`, which passes for a note and is listed nowhere
    assert json.loads((layout.quarantine / f"{name}.1.why.json").read_text())["reason"] == "corrupt: not JSON"


def test_a_file_bigger_than_the_quarantine_cap_is_kept_for_inspection_and_the_older_ones_make_room(layout):
    layout.spool.mkdir(parents=True)
    older, huge = _name(1), _name(2)
    for name, size in ((older, 1000), (huge, store.QUARANTINE_CAP_BYTES + 1)):
        (layout.spool / name).write_bytes(b"x" * size)
        lease = store.claim(layout, name, int(START_UNIX) + 120)
        dropped = store.quarantine(layout, lease, name, "oversized", SESSION_START)
    assert dropped == 1  # the older one, as status says ("older removed by the cap")
    assert (layout.quarantine / huge).stat().st_size == store.QUARANTINE_CAP_BYTES + 1
    assert not (layout.quarantine / older).exists()
