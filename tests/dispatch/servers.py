"""Local providers for the dispatch tests, all on 127.0.0.1 with an ephemeral port: an HTTP sink (SMS
gateway, push, IVR) and an SMTP server, both de-duplicating by idempotency key like real providers, and a
minimal SMPP 3.4 server (bind_transceiver, submit_sm with UCS-2 and UDH concatenation, enquire_link, unbind).
"""

from __future__ import annotations

import json
import socket
import socketserver
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

# --- HTTP ---------------------------------------------------------------------------------------------


@dataclass
class HttpSink:
    """Every POST received, and the de-duplicated deliveries (one per Idempotency-Key)."""

    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    delivered: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail_next: int = 0  # answer this many requests with `fail_status` first
    fail_status: int = 503
    reply: dict[str, Any] = field(default_factory=dict)  # extra fields in every 200 answer
    reject: set[str] = field(default_factory=set)  # keys a batch answers with a per-message 400
    batches: list[list[str]] = field(default_factory=list)  # the keys of each batch POST, in order
    lock: threading.Lock = field(default_factory=threading.Lock)

    def by_path(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [d for d in self.delivered.values() if d["path"] == path]


@contextmanager
def http_sink(record: bool = True) -> Iterator[HttpSink]:
    sink = HttpSink()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            key = self.headers.get("Idempotency-Key", "")
            with sink.lock:
                if sink.fail_next > 0:
                    sink.fail_next -= 1
                    status, answer = sink.fail_status, {"error": "down"}
                elif self.path.endswith("/batch"):
                    status, answer = 200, {"results": [self._one_of_batch(m) for m in body["messages"]]}
                    sink.batches.append([m["idempotency_key"] for m in body["messages"]])
                else:
                    status = 200
                    if record:
                        sink.requests.append({"path": self.path, "key": key, "body": body})
                    first = key not in sink.delivered
                    if first:
                        sink.delivered[key] = {"path": self.path, "key": key, "body": body}
                    answer = {"id": f"p-{abs(hash(key)) % 10**12}", "duplicate": not first, **sink.reply}
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _one_of_batch(self, message: dict[str, Any]) -> dict[str, Any]:
            key = str(message["idempotency_key"])
            path = self.path[: -len("/batch")]
            if key in sink.reject:
                return {"idempotency_key": key, "code": 400, "error": "rejected"}
            if record:
                sink.requests.append({"path": path, "key": key, "body": message})
            first = key not in sink.delivered
            if first:
                sink.delivered[key] = {"path": path, "key": key, "body": message}
            return {"idempotency_key": key, "id": f"p-{abs(hash(key)) % 10**12}", "duplicate": not first}

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    sink.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()


# --- SMTP ---------------------------------------------------------------------------------------------


@dataclass
class SmtpSink:
    host: str = "127.0.0.1"
    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    by_message_id: dict[str, EmailMessage] = field(default_factory=dict)


@contextmanager
def smtp_server() -> Iterator[SmtpSink]:
    sink = SmtpSink()

    class Handler:
        async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
            mail = message_from_bytes(envelope.content, policy=policy.default)
            assert isinstance(mail, EmailMessage)
            sink.messages.append(mail)
            sink.by_message_id.setdefault(str(mail["Message-ID"]), mail)
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        sink.port = s.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


# --- SMPP ---------------------------------------------------------------------------------------------

BIND_TRANSCEIVER, BIND_TRANSCEIVER_RESP = 0x00000009, 0x80000009
SUBMIT_SM, SUBMIT_SM_RESP = 0x00000004, 0x80000004
UNBIND, UNBIND_RESP = 0x00000006, 0x80000006
ENQUIRE_LINK, ENQUIRE_LINK_RESP = 0x00000015, 0x80000015
GENERIC_NACK = 0x80000000


@dataclass
class SmppSink:
    host: str = "127.0.0.1"
    port: int = 0
    binds: list[tuple[str, str]] = field(default_factory=list)
    pdus: list[dict[str, Any]] = field(default_factory=list)  # every submit_sm, decoded
    messages: list[dict[str, Any]] = field(default_factory=list)  # reassembled texts
    unbinds: int = 0
    enquire_links: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _partial: dict[tuple[str, int], dict[int, str]] = field(default_factory=dict)


def _cstring(body: bytes, at: int) -> tuple[str, int]:
    end = body.index(b"\x00", at)
    return body[at:end].decode("ascii"), end + 1


def parse_submit_sm(body: bytes) -> dict[str, Any]:
    """The fields of a submit_sm body (SMPP 3.4 §4.4.1) and its text decoded by data_coding and UDH."""
    at = 0
    service_type, at = _cstring(body, at)
    source_ton, source_npi = body[at], body[at + 1]
    source, at = _cstring(body, at + 2)
    dest_ton, dest_npi = body[at], body[at + 1]
    dest, at = _cstring(body, at + 2)
    esm_class, _protocol, _priority = body[at], body[at + 1], body[at + 2]
    _schedule, at = _cstring(body, at + 3)
    _validity, at = _cstring(body, at)
    registered, _replace, coding, _default_id, length = body[at : at + 5]
    short = body[at + 5 : at + 5 + length]
    udh: dict[str, int] | None = None
    payload = short
    if esm_class & 0x40:
        udh_len = short[0]
        header = short[1 : 1 + udh_len]
        payload = short[1 + udh_len :]
        if header[0] == 0x00 and header[1] == 0x03:
            udh = {"ref": header[2], "total": header[3], "seq": header[4]}
    text = payload.decode("utf-16-be") if coding == 0x08 else payload.decode("latin-1")
    return {
        "service_type": service_type,
        "source": source,
        "source_ton": source_ton,
        "source_npi": source_npi,
        "dest": dest,
        "dest_ton": dest_ton,
        "dest_npi": dest_npi,
        "esm_class": esm_class,
        "data_coding": coding,
        "registered_delivery": registered,
        "udh": udh,
        "raw": short,
        "text": text,
    }


@contextmanager
def smpp_server() -> Iterator[SmppSink]:
    sink = SmppSink()
    counter = iter(range(1, 10**9))

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            conn: socket.socket = self.request
            while True:
                header = _read(conn, 16)
                if header is None:
                    return
                length, command, _status, seq = struct.unpack(">IIII", header)
                body = _read(conn, length - 16) if length > 16 else b""
                if body is None:
                    return
                if command == BIND_TRANSCEIVER:
                    system_id, at = _cstring(body, 0)
                    password, _ = _cstring(body, at)
                    with sink.lock:
                        sink.binds.append((system_id, password))
                    _send(conn, BIND_TRANSCEIVER_RESP, seq, b"smsc\x00")
                elif command == SUBMIT_SM:
                    pdu = parse_submit_sm(body)
                    message_id = f"m{next(counter)}"
                    with sink.lock:
                        sink.pdus.append(pdu)
                        _assemble(sink, pdu)
                    _send(conn, SUBMIT_SM_RESP, seq, message_id.encode() + b"\x00")
                elif command == ENQUIRE_LINK:
                    with sink.lock:
                        sink.enquire_links += 1
                    _send(conn, ENQUIRE_LINK_RESP, seq, b"")
                elif command == UNBIND:
                    with sink.lock:
                        sink.unbinds += 1
                    _send(conn, UNBIND_RESP, seq, b"")
                    return
                else:
                    _send(conn, GENERIC_NACK, seq, b"", status=0x03)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    sink.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()


def _assemble(sink: SmppSink, pdu: dict[str, Any]) -> None:
    udh = pdu["udh"]
    if udh is None:
        sink.messages.append({"dest": pdu["dest"], "text": pdu["text"], "parts": 1})
        return
    key = (pdu["dest"], udh["ref"])
    parts = sink._partial.setdefault(key, {})
    parts[udh["seq"]] = pdu["text"]
    if len(parts) == udh["total"]:
        text = "".join(parts[i] for i in range(1, udh["total"] + 1))
        sink.messages.append({"dest": pdu["dest"], "text": text, "parts": udh["total"]})
        del sink._partial[key]


def _read(conn: socket.socket, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _send(conn: socket.socket, command: int, seq: int, body: bytes, status: int = 0) -> None:
    conn.sendall(struct.pack(">IIII", 16 + len(body), command, status, seq) + body)
