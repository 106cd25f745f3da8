"""A really full database for the fault tests, that can be filled and freed mid-test.

SQLite: every connection to the file gets ``PRAGMA max_page_count`` on each pool
checkout (so connections an engine already holds get it too). Filling sets it to
the file's current size and takes up the free pages with ballast rows, so any
write that needs one more page fails with ``SQLITE_FULL`` ("database or disk is
full"); freeing raises the limit back to SQLite's default.

PostgreSQL: a database of its own whose tablespace is a small tmpfs (this needs
root and ``mount -t tmpfs``; the test is skipped otherwise, saying so). Filling
writes a ballast file until that disk is full, so extending any table fails with
``53100 disk_full`` ("could not extend file ... No space left on device");
freeing deletes the ballast.

A database at its limit still takes writes that fit in the room left in its
pages, as a real one does; the tests either write what needs new pages (a long
note) or repeat a small write until the database refuses it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, inspect, select, table, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool, Pool

TMPFS_SIZE = "32m"
#: A note long enough to need fresh pages (a SQLite overflow page, PostgreSQL TOAST
#: chunks), in varied Japanese so it does not compress: 1,800 characters, 5,400 bytes.
LONG_NOTE = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(1_800))


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of Atelier's (not the test's ballast), sorted."""
    with engine.connect() as conn:
        names = [n for n in inspect(conn).get_table_names() if n != "test_ballast"]
        return {
            n: sorted(
                (tuple(r) for r in conn.execute(select(text("*")).select_from(table(n)))), key=repr
            )
            for n in names
        }


def integrity(engine: Engine) -> str:
    """SQLite's ``PRAGMA integrity_check`` ("ok" when the file is whole)."""
    if engine.dialect.name != "sqlite":
        return "ok"  # PostgreSQL: the snapshot comparison is the check
    with engine.connect() as conn:
        return str(conn.exec_driver_sql("PRAGMA integrity_check").scalar())


class SqliteAtLimit:
    """A SQLite file whose page limit the test controls (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"sqlite:///{path.as_posix()}"
        with contextlib.closing(sqlite3.connect(":memory:")) as conn:
            self.default_limit = int(conn.execute("PRAGMA max_page_count").fetchone()[0])
        self.limit: int | None = None
        event.listen(Pool, "checkout", self._checkout)

    def _applies(self, conn: Any) -> bool:
        if not isinstance(conn, sqlite3.Connection):
            return False
        files = {str(row[2]) for row in conn.execute("PRAGMA database_list")}
        return str(self.path) in files

    def _checkout(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if self.limit is not None and self._applies(dbapi_connection):
            dbapi_connection.execute(f"PRAGMA max_page_count = {self.limit}")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10, isolation_level=None)

    def fill(self) -> None:
        """No page may be added, and the free pages are taken by ballast."""
        with contextlib.closing(self._connect()) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS test_ballast (b BLOB)")
            self.limit = int(conn.execute("PRAGMA page_count").fetchone()[0])
            conn.execute(f"PRAGMA max_page_count = {self.limit}")
            for size in (8192, 1024, 64):
                with contextlib.suppress(sqlite3.OperationalError):
                    while True:
                        conn.execute("INSERT INTO test_ballast VALUES (zeroblob(?))", (size,))
            free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
        assert free == 0, f"{free} free pages left in {self.path}"

    def free(self) -> None:
        """Room again: the page limit back to SQLite's default."""
        self.limit = self.default_limit

    def close(self) -> None:
        event.remove(Pool, "checkout", self._checkout)


class PostgresOnTinyDisk:
    """A PostgreSQL database on a tmpfs tablespace the test can fill (module docstring)."""

    def __init__(self, admin_url: str) -> None:
        base = make_url(admin_url)
        if base.host not in ("127.0.0.1", "localhost", "::1"):
            pytest.skip("a full disk for PostgreSQL needs the server on this machine")
        if os.geteuid() != 0:
            pytest.skip("a full disk for PostgreSQL needs root (mount -t tmpfs); not root here")
        # Under /tmp itself: the server's user must reach it (pytest's folders are private).
        self.folder = folder = Path(tempfile.mkdtemp(prefix="atelier-tiny-"))
        self.ballast = folder / "ballast"
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0700", "tmpfs", str(folder)],
            capture_output=True,
            text=True,
        )
        if mounted.returncode != 0:
            folder.rmdir()
            pytest.skip(f"mount -t tmpfs is not allowed here: {mounted.stderr.strip()}")
        with contextlib.suppress(LookupError):
            shutil.chown(folder, "postgres", "postgres")  # the server's user (.ci/postgres.sh)
        suffix = uuid.uuid4().hex[:12]
        self.tablespace, self.database = f"tiny_{suffix}", f"atelier_full_{suffix}"
        self.admin = create_engine(base, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        try:
            self._sql(f"CREATE TABLESPACE {self.tablespace} LOCATION '{folder}'")
            self._sql(f"CREATE DATABASE {self.database} TABLESPACE {self.tablespace}")
        except Exception:
            self.close()
            raise
        self.url = base.set(database=self.database).render_as_string(hide_password=False)

    def _sql(self, statement: str) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(statement)

    def fill(self) -> None:
        """Write ballast until the tablespace's disk has no byte left."""
        block = b"\0" * 65536
        with contextlib.suppress(OSError), self.ballast.open("ab") as out:
            while True:
                out.write(block)
                out.flush()
        assert shutil.disk_usage(self.folder).free == 0

    def free(self) -> None:
        self.ballast.unlink(missing_ok=True)

    def close(self) -> None:
        self.free()
        with contextlib.suppress(Exception):
            self._sql(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")
            self._sql(f"DROP TABLESPACE IF EXISTS {self.tablespace}")
        self.admin.dispose()
        subprocess.run(["umount", str(self.folder)], check=False)
        with contextlib.suppress(OSError):
            self.folder.rmdir()
