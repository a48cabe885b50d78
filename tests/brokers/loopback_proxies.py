"""Proxies on loopback for the egress tests: a plain HTTP forward proxy and a SOCKS5 proxy (no auth).

Each records what it relayed, so a test can assert that an account's traffic went through its own
proxy and no other. Only what the tests need: HTTP/1.0-style forwarding of absolute-URI requests, and
SOCKS5 CONNECT to an IPv4 address or a domain name.
"""
from __future__ import annotations

import contextlib
import http.client
import socket
import socketserver
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class HttpForwardProxy:
    def __init__(self) -> None:
        self.relayed: list[str] = []  # absolute URLs
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                target = urlsplit(self.path)
                proxy.relayed.append(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=5)
                upstream.request("POST", target.path, body=body, headers={"Content-Type": "application/json"})
                answer = upstream.getresponse()
                data = answer.read()
                upstream.close()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Socks5Proxy:
    def __init__(self) -> None:
        self.connects: list[tuple[str, int]] = []
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                client = self.request
                _version, methods = client.recv(2)
                client.recv(methods)
                client.sendall(b"\x05\x00")  # no authentication
                _ver, _cmd, _rsv, kind = client.recv(4)
                # 1: an IPv4 address; 3: a domain name
                host = socket.inet_ntoa(client.recv(4)) if kind == 1 else client.recv(client.recv(1)[0]).decode()
                port = struct.unpack("!H", client.recv(2))[0]
                proxy.connects.append((host, port))
                remote = socket.create_connection((host, port), timeout=5)
                client.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack("!H", 0))
                threading.Thread(target=_pipe, args=(remote, client), daemon=True).start()
                _pipe(client, remote)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"socks5://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
