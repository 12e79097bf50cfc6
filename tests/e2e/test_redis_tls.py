"""The daemon reaches its Redis command channel over TLS (`rediss://`), as its own ACL user
with a password that never appears in its output."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.e2e.control_daemon import control_env, redis_of
from tests.support.daemon_process import Daemon
from tests.support.redis_server import RedisServer, free_port, redis_server_binary

PASSWORD = "tls-daemon-s3cret"


def self_signed(directory: Path) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    assert openssl is not None, "openssl comes with the base system"
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_commands_over_a_tls_connection(tmp_path: Path) -> None:
    binary = redis_server_binary()
    assert binary is not None, "tests/run.sh installs redis-server"
    cert, key = self_signed(tmp_path)
    tls_port = free_port()
    args = [
        *("--tls-port", str(tls_port), "--tls-cert-file", str(cert)),
        *("--tls-key-file", str(key), "--tls-ca-cert-file", str(cert)),
        *("--tls-auth-clients", "no"),
        *("--user", "paperfund", "on", f">{PASSWORD}", "~*", "&*", "+@all"),
        *("--user", "default", "on", "nopass", "~*", "&*", "+@all"),
    ]
    with RedisServer(binary, args=args) as server:
        url = f"rediss://paperfund:{PASSWORD}@127.0.0.1:{tls_port}/0?ssl_ca_certs={cert}"
        daemon = Daemon(control_env(tmp_path / "state", url)).wait_ready()
        try:
            operator = redis_of(server.url)  # plain text on the other port
            reply = operator.send({"type": "status", "command_id": "over-tls"})
            operator.close()
        finally:
            code = daemon.stop()
    assert code == 0
    assert reply["status"] == "applied" and reply["data"]["fund"] == "demo"
    started = daemon.event("redis command channel started")
    assert started["url"].startswith("rediss://paperfund:***@127.0.0.1:")
    assert PASSWORD not in "".join(daemon.lines)
