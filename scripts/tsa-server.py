#!/usr/bin/env python3
"""A real RFC 3161 Time-Stamping Authority on 127.0.0.1: stock `openssl ts -reply` behind HTTP/1.1.

Usage: tsa-server.py DIR [--port N] [--port-file FILE] [--tls CERT KEY [--client-ca CA]]
DIR is what scripts/make-example-tsa.sh made (tsa.cnf and the TSA keys). POST a TimeStampReq
(application/timestamp-query) to /good (or /SECTION of tsa.cnf) and get openssl's reply. For the tests,
paths that misbehave as real TSAs do:
  /other-imprint  a granted reply for another hash      /bad-nonce  a reply to another request (nonce)
  /noeku          a token signed by a certificate without the timeStamping EKU
  /html           200 text/html                          /garbage    200 application/timestamp-reply, junk
  /huge           10 MB of reply                         /hang       never answers (60 s)
  /flaky          503 for the first 2 requests, then granted
  /auth           401 unless HTTP basic authentication is example:secret, then granted
Anything else is 404. With --tls it speaks HTTPS; with --client-ca it also wants a client certificate. Each request runs `openssl ts -reply` once (one section's serial file at a time).
EXAMPLE ONLY: for tests, the quick start and benchmarks.
"""
import argparse
import base64
import signal
import ssl
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

SHA256_OID = bytes.fromhex("0609608648016503040201")


class Tsa:
    def __init__(self, folder):
        # A copy: `openssl ts -reply` writes its serial files, and the folder given may be the repository's.
        self.work = tempfile.mkdtemp(prefix="tsa-server.")
        self.dir = os.path.join(self.work, "tsa")
        shutil.copytree(folder, self.dir)
        self.locks = {}
        self.guard = threading.Lock()
        self.flaky = 0

    def lock(self, section):
        with self.guard:
            return self.locks.setdefault(section, threading.Lock())

    def openssl(self, *args, data=None):
        return subprocess.run(["openssl", *args], cwd=self.dir, input=data, capture_output=True, check=True).stdout

    def reply(self, section, query):
        with tempfile.TemporaryDirectory() as work:
            q = os.path.join(work, "q.tsq")
            r = os.path.join(work, "r.tsr")
            with open(q, "wb") as f:
                f.write(query)
            with self.lock(section):
                subprocess.run(["openssl", "ts", "-reply", "-config", "tsa.cnf", "-section", section,
                                "-queryfile", q, "-out", r], cwd=self.dir, capture_output=True, check=True)
            with open(r, "rb") as f:
                return f.read()

    def query_for(self, digest_hex):
        return self.openssl("ts", "-query", "-digest", digest_hex, "-sha256", "-cert")

    @staticmethod
    def digest_of(query):
        at = query.find(SHA256_OID)
        start = query.find(b"\x04\x20", at)
        if at < 0 or start < 0:
            raise ValueError("not a SHA-256 TimeStampReq")
        return query[start + 2:start + 34].hex()

    def resigned_without_eku(self, query):
        """A granted reply whose token is signed again by the certificate without the EKU."""
        with tempfile.TemporaryDirectory() as work:
            resp = os.path.join(work, "r.tsr")
            token = os.path.join(work, "t.der")
            tst = os.path.join(work, "tst.der")
            with open(resp, "wb") as f:
                f.write(self.reply("good", query))
            self.openssl("ts", "-reply", "-in", resp, "-token_out", "-out", token)
            self.openssl("cms", "-verify", "-noverify", "-inform", "DER", "-in", token, "-out", tst)
            signed = self.openssl("cms", "-sign", "-binary", "-nodetach", "-cades", "-md", "sha256",
                                  "-econtent_type", "1.2.840.113549.1.9.16.1.4", "-in", tst, "-outform", "DER",
                                  "-signer", "noeku.pem", "-inkey", "noeku.key", "-certfile", "tsa-ca.pem")
        status = bytes.fromhex("3003020100")
        body = status + signed
        return b"\x30" + der_length(len(body)) + body


def der_length(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def handler_for(tsa):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: a client asks many times over one connection

        def log_message(self, fmt, *args):  # quiet: the tests read the client's words, not ours
            pass

        def send(self, code, body, content_type="application/timestamp-reply"):
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            query = self.rfile.read(min(length, 65536))
            path = self.path.strip("/")
            try:
                if path == "html":
                    self.send(200, b"<html><body>Sign in</body></html>", "text/html")
                elif path == "garbage":
                    self.send(200, b"this is not a TimeStampResp")
                elif path == "huge":
                    self.send(200, b"\x30" * (10 * 1024 * 1024))
                elif path == "hang":
                    time.sleep(60)
                    self.send(200, b"")
                elif path == "flaky":
                    with tsa.guard:
                        tsa.flaky += 1
                        n = tsa.flaky
                    if n <= 2:
                        self.send(503, b"busy", "text/plain")
                    else:
                        self.send(200, tsa.reply("good", query))
                elif path == "auth":
                    expected = "Basic " + base64.b64encode(b"example:secret").decode()
                    if self.headers.get("Authorization") != expected:
                        self.send_response(401)
                        self.send_header("WWW-Authenticate", 'Basic realm="tsa"')
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                    else:
                        self.send(200, tsa.reply("good", query))
                elif path == "other-imprint":
                    self.send(200, tsa.reply("good", tsa.query_for("00" * 32)))
                elif path == "bad-nonce":
                    self.send(200, tsa.reply("good", tsa.query_for(Tsa.digest_of(query))))
                elif path == "noeku":
                    self.send(200, tsa.resigned_without_eku(query))
                elif path in sections(tsa.dir):
                    self.send(200, tsa.reply(path, query))
                else:
                    self.send(404, b"not found", "text/plain")
            except (subprocess.CalledProcessError, ValueError) as e:
                self.send(500, str(e).encode(), "text/plain")

    return Handler


def sections(folder):
    with open(os.path.join(folder, "tsa.cnf"), encoding="utf-8") as f:
        return {line.strip()[1:-1].strip() for line in f if line.strip().startswith("[")} - {"tsa"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--client-ca")
    args = parser.parse_args()
    tsa = Tsa(args.dir)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(tsa))
    if args.tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls[0], args.tls[1])
        if args.client_ca:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(args.client_ca)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    port = server.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w", encoding="utf-8") as f:
            f.write(f"{port}\n")
        os.rename(args.port_file + ".tmp", args.port_file)
    print(f"tsa-server: http://127.0.0.1:{port}/good", file=sys.stderr, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        shutil.rmtree(tsa.work, ignore_errors=True)


if __name__ == "__main__":
    main()
