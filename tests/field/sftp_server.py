"""A local SFTP server for the print vendor's uploads (asyncssh on 127.0.0.1, a port the system picks, a host
key and a client key generated for the test), run on its own event loop in a thread.

    with sftp_server(tmp_path) as vendor:   # vendor.root: what was uploaded; vendor.url(path); key files
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncssh


@dataclass
class SftpVendor:
    root: Path
    port: int
    key: Path  # the client's private key
    known_hosts: Path  # the server's host key, as the client must trust it

    def url(self, folder: str = "/inbox") -> str:
        return f"sftp://vendor@127.0.0.1:{self.port}{folder}"


@contextmanager
def sftp_server(tmp_path: Path) -> Iterator[SftpVendor]:
    root = tmp_path / "vendor"
    root.mkdir()
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    key_file = tmp_path / "vendor_key"
    key_file.write_bytes(client_key.export_private_key())
    key_file.chmod(0o600)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, object] = {}

    async def start() -> None:
        server = await asyncssh.listen(
            "127.0.0.1",
            0,
            server_host_keys=[host_key],
            authorized_client_keys=asyncssh.import_authorized_keys(client_key.export_public_key().decode()),
            sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=str(root)),
            allow_scp=False,
        )
        holder["server"] = server
        holder["port"] = server.sockets[0].getsockname()[1]
        ready.set()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(30), "the SFTP server did not start"
    port = int(holder["port"])  # type: ignore[call-overload]
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {host_key.export_public_key().decode().strip()}\n")
    try:
        yield SftpVendor(root, port, key_file, known)
    finally:
        server = holder["server"]

        async def stop() -> None:
            server.close()  # type: ignore[attr-defined]
            await server.wait_closed()  # type: ignore[attr-defined]

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
