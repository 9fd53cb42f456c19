"""Fault injection between the functions and the emulator, at a configurable rate and seed.

POST /_strata/faults {"rate": 0.2, "seed": 7, "kinds": ["throttle", "500", "503", "reset", "slow"]}  switch on
POST /_strata/faults {"rate": 0}                                                                  switch off
POST /_strata/faults {"paused_rate": r}                    set the rate only (0 pauses), keeping the seed and counts
GET  /_strata/faults -> {"rate", "seed", "injected": {kind: count}, "calls": n}

A fault is decided before the request reaches moto, so a failed call has changed nothing (as with a throttled
or refused request on AWS); `slow` lets the call through after a delay. Errors are written in the protocol
of the request (awsQuery XML, Route 53 REST XML, CloudWatch rpc-v2-cbor), so the SDKs see what AWS sends.
"""

import random
import socket
import struct
import threading
import time

import cbor2
from werkzeug.wrappers import Response

KINDS = ("throttle", "500", "503", "reset", "slow")


class FaultSettings:
    def __init__(self):
        self.lock = threading.Lock()
        self.rate = 0.0
        self.seed = 0
        self.kinds = KINDS
        self.rng = random.Random(0)
        self.injected = {k: 0 for k in KINDS}
        self.calls = 0

    def configure(self, spec):
        with self.lock:
            if "paused_rate" in spec:  # pause/resume without resetting the seed or the counts
                self.rate = float(spec["paused_rate"])
                return
            self.rate = float(spec.get("rate", 0.0))
            self.seed = int(spec.get("seed", 0))
            self.kinds = tuple(spec.get("kinds", KINDS))
            unknown = [k for k in self.kinds if k not in KINDS]
            if unknown:
                raise ValueError(f"unknown fault kinds {unknown}; known: {list(KINDS)}")
            self.rng = random.Random(self.seed)
            self.injected = {k: 0 for k in KINDS}
            self.calls = 0

    def draw(self):
        """The fault for the next AWS call, or None."""
        with self.lock:
            self.calls += 1
            if self.rate <= 0 or self.rng.random() >= self.rate:
                return None
            kind = self.rng.choice(self.kinds)
            self.injected[kind] += 1
            return kind

    def snapshot(self):
        with self.lock:
            return {"rate": self.rate, "seed": self.seed, "kinds": list(self.kinds), "injected": dict(self.injected), "calls": self.calls}


FAULTS = FaultSettings()


def protocol_error(environ, status, code, message):
    path = environ.get("PATH_INFO", "")
    if path.startswith("/service/GraniteServiceVersion20100801/"):
        body = cbor2.dumps({"__type": f"com.amazonaws.cloudwatch#{code}", "message": message})
        fault = "Sender" if status < 500 else "Receiver"
        headers = {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor", "x-amzn-query-error": f"{code};{fault}"}
        return Response(body, status=status, headers=headers)
    if path.startswith("/2013-04-01/"):
        xml = (
            '<?xml version="1.0"?>\n<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
            f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            "<RequestId>strata-fault</RequestId></ErrorResponse>"
        )
        return Response(xml, status=status, content_type="text/xml")
    xml = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        "<RequestId>strata-fault</RequestId></ErrorResponse>"
    )
    return Response(xml, status=status, content_type="text/xml")


def reset_connection(environ):
    """Closes the client's connection with a TCP RST, without an answer."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()


class FaultInjector:
    """WSGI middleware: AWS calls only (never the /_strata/ control endpoints or pre-signed S3 answers)."""

    def __init__(self, inner):
        self.inner = inner

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING", "")
        presigned = "Signature=" in query
        if path.startswith("/_strata/") or presigned or FAULTS.rate <= 0:
            return self.inner(environ, start_response)
        kind = FAULTS.draw()
        if kind is None:
            return self.inner(environ, start_response)
        if kind == "slow":
            environ["strata.arrived"] = time.monotonic()  # the call log counts the wait as part of the call
            time.sleep(0.3)
            return self.inner(environ, start_response)
        if kind == "throttle":
            change_batch = environ.get("REQUEST_METHOD") == "POST" and path.rstrip("/").endswith("/rrset")
            code = "PriorRequestNotComplete" if change_batch else "Throttling"
            return protocol_error(environ, 400, code, "Rate exceeded (injected)")(environ, start_response)
        if kind == "reset":
            reset_connection(environ)
            return []
        return protocol_error(environ, int(kind), "InternalFailure" if kind == "500" else "ServiceUnavailable",
                              "injected fault")(environ, start_response)
