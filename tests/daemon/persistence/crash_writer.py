"""Child process for the kill -9 tests: writes to a store and reports progress on stdout.

python -m tests.daemon.persistence.crash_writer append STATE_DIR every_slice|interval|off
    appends records forever; prints "appended SEQ" after each append returns
    (interval mode: "committed SEQ" after each explicit flush, every 7 records)
python -m tests.daemon.persistence.crash_writer snapshot STATE_DIR SIZE_BYTES
    appends 10 records, writes a small snapshot, prints "ready WAL_BYTES", then
    "writing" and writes one snapshot of SIZE_BYTES, then prints "written"
python -m tests.daemon.persistence.crash_writer compact STATE_DIR RECORDS
    appends RECORDS records with a snapshot at every 100th (two kept), prints "ready", then
    appends 100 more and writes the snapshot that compacts the journal, exiting (code 9, as
    abruptly as a kill) in the middle of the compaction's DELETE
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from daemon.persistence import StateStore
from daemon.persistence.database import side_file
from tests.daemon.persistence.store_support import fill, payload_for

SMALL_SNAPSHOT = b"small snapshot at 10"
_MAX_RECORDS = 200_000


def append_forever(state_dir: Path, fsync: str) -> None:
    with StateStore.open(state_dir, fsync, interval_s=3600.0) as store:
        for seq in range(1, _MAX_RECORDS):
            assert store.append("slice", payload_for(seq)) == seq
            if fsync != "interval":
                print(f"appended {seq}", flush=True)
            elif seq % 7 == 0:
                store.flush()
                print(f"committed {seq}", flush=True)


def big_snapshot(state_dir: Path, size: int) -> None:
    with StateStore.open(state_dir) as store:
        for seq in range(1, 11):
            store.append("slice", payload_for(seq))
        store.write_snapshot(10, SMALL_SNAPSHOT)
        wal_bytes = side_file(store.path, "-wal").stat().st_size
        payload = bytes(range(256)) * (size // 256)
        print(f"ready {wal_bytes}", flush=True)
        print("writing", flush=True)
        store.write_snapshot(10, payload)
        print("written", flush=True)


def die_while_compacting(state_dir: Path, records: int) -> None:
    with StateStore.open(state_dir, keep_snapshots=2) as store:
        while store.last_seq < records:
            fill(store, 100)
            store.write_snapshot(store.last_seq, b"fund at %d" % store.last_seq)
        print("ready", flush=True)
        fill(store, 100)
        conn = store._conn
        assert conn is not None
        # once the compaction's DELETE runs, exit from inside it (no rollback, no close)
        conn.set_trace_callback(
            lambda sql: (
                sql.startswith("DELETE FROM journal")
                and conn.set_progress_handler(lambda: os._exit(9), 50)
            )
        )
        store.write_snapshot(store.last_seq, b"fund at %d" % store.last_seq)
        print("compacted", flush=True)  # never reached


if __name__ == "__main__":
    command, directory, argument = sys.argv[1:4]
    if command == "append":
        append_forever(Path(directory), argument)
    elif command == "compact":
        die_while_compacting(Path(directory), int(argument))
    else:
        big_snapshot(Path(directory), int(argument))
