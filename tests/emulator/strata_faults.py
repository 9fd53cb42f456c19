"""Fault injection between the functions and the emulator, at a configurable rate and seed.

POST /_strata/faults {"rate": 0.2, "seed": 7, "kinds": [...]}    switch on (kinds default to all of KINDS)
POST /_strata/faults {"rate": 0}                                 switch off
POST /_strata/faults {"paused_rate": r}                    set the rate only (0 pauses), keeping the seed and counts
GET  /_strata/faults -> {"rate", "seed", "kinds", "injected": {kind: count}, "lost_answers", "calls", "log"}

Each fault is drawn from (seed, operation, resource, attempt), not from one random stream in the order calls
arrive: calls are concurrent, so only such a draw makes one seed replay alone. The resource is what the call
names (ELBv2/Auto Scaling names and ARNs, Route 53 paths and the records of a change batch, alarm names), with
the random parts of ids scrubbed, since ids differ from run to run; the attempt counts earlier calls with the
same operation and resource.

`throttle`, `500`, `503` and `reset` are decided before the request reaches moto, so such a failed call has
changed nothing (as with a throttled or refused request on AWS); `slow` lets the call through after a delay.
`lost-reset` and `lost-500` apply a mutating call and then lose its answer (the connection is reset, or a 500
comes back, after moto changed state), the case where a retry finds its own write already done. Errors are
written in the protocol of the request (awsQuery XML, Route 53 REST XML, CloudWatch rpc-v2-cbor).
"""

import hashlib
import io
import re
import socket
import struct
import threading
import time
from urllib.parse import parse_qs

import cbor2
from werkzeug.wrappers import Response

from strata_faithful import describe_call

KINDS = ("throttle", "500", "503", "reset", "slow", "lost-reset", "lost-500")
LOST = ("lost-reset", "lost-500")


class FaultSettings:
    def __init__(self):
        self.lock = threading.Lock()
        self.rate = 0.0
        self.seed = 0
        self.kinds = KINDS
        self.attempts = {}
        self.injected = {k: 0 for k in KINDS}
        self.calls = 0
        self.log = []

    def configure(self, spec):
        with self.lock:
            if "paused_rate" in spec:  # pause/resume without resetting the seed or the counts
                self.rate = float(spec["paused_rate"])
                return
            kinds = tuple(spec.get("kinds", KINDS))
            unknown = [k for k in kinds if k not in KINDS]
            if unknown:
                raise ValueError(f"unknown fault kinds {unknown}; known: {list(KINDS)}")
            self.rate = float(spec.get("rate", 0.0))
            self.seed = int(spec.get("seed", 0))
            self.kinds = kinds
            self.attempts = {}
            self.injected = {k: 0 for k in KINDS}
            self.calls = 0
            self.log = []

    def draw(self, operation, resource, mutating):
        """The fault for this call (a pure function of seed, operation, resource and attempt), or None."""
        with self.lock:
            self.calls += 1
            key = (operation, resource)
            attempt = self.attempts.get(key, 0)
            self.attempts[key] = attempt + 1
            digest = hashlib.blake2b(f"{self.seed}|{operation}|{resource}|{attempt}".encode(), digest_size=16).digest()
            if self.rate <= 0 or int.from_bytes(digest[:8], "big") / 2.0**64 >= self.rate:
                return None
            kinds = [k for k in self.kinds if mutating or k not in LOST]
            if not kinds:
                return None
            kind = kinds[int.from_bytes(digest[8:], "big") % len(kinds)]
            self.injected[kind] += 1
            self.log.append(f"{kind} {operation} {resource} #{attempt}")
            return kind

    def snapshot(self):
        with self.lock:
            return {
                "rate": self.rate,
                "seed": self.seed,
                "kinds": list(self.kinds),
                "injected": dict(self.injected),
                "lost_answers": sum(self.injected[k] for k in LOST),
                "calls": self.calls,
                "log": list(self.log),
            }


FAULTS = FaultSettings()

# Ids that differ between runs: ELBv2 ARN suffixes, Route 53 zone/health-check/change ids, instance ids.
RANDOM_ID = re.compile(r"[0-9a-f]{16,}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|i-[0-9a-f]{8,}")
ROUTE53_ID = re.compile(r"/(hostedzone|healthcheck|change|delegationset)/[^/]+")
# Request members that name what a call acts on (a `.member.N` suffix stripped).
NAMING_MEMBERS = {
    "Name", "Names", "LoadBalancerArn", "LoadBalancerArns", "TargetGroupArn", "TargetGroupArns", "TargetGroupARNs",
    "ListenerArn", "ListenerArns", "ResourceArns", "AutoScalingGroupName", "AutoScalingGroupNames", "Port",
}


def scrub(text):
    return RANDOM_ID.sub("*", text)


def read_body(environ):
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def call_identity(environ):
    """(operation, resource, mutating) of one AWS request."""
    _, operation = describe_call(environ)  # buffers a form body, so it can be read again
    path = environ.get("PATH_INFO", "")
    method = environ.get("REQUEST_METHOD", "GET")
    if path.startswith("/2013-04-01/"):
        resource = ROUTE53_ID.sub(lambda m: f"/{m.group(1)}/*", path)
        if method == "POST":
            body = read_body(environ).decode(errors="replace")
            names = re.findall(r"<(Action|Name|Type|SetIdentifier|CallerReference)>([^<]*)<", body)
            resource += " " + ",".join(f"{k}={v}" for k, v in names)
        return f"route53 {method}", scrub(resource), method in ("POST", "DELETE")
    if path.startswith("/service/"):
        try:
            params = cbor2.loads(read_body(environ)) or {}
        except Exception:
            params = {}
        names = params.get("AlarmNames") or [params.get("AlarmName", "")]
        return operation, scrub(",".join(map(str, names))), not operation.startswith(("Describe", "List", "Get"))
    resource = ""
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        form = parse_qs(read_body(environ).decode(errors="replace"))
        named = sorted((k, v) for k, vs in form.items() for v in vs if k.split(".member.")[0] in NAMING_MEMBERS)
        resource = ",".join(f"{k}={v}" for k, v in named)
    return operation, scrub(resource), not operation.startswith(("Describe", "List", "Get"))


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
        # S3 carries only CloudFormation's answers here (the ResponseURL PUT, and the harness reading it back
        # through the control endpoints): a fault there would test the harness, not Strata.
        s3 = "/s3/aws4_request" in environ.get("HTTP_AUTHORIZATION", "")
        if path.startswith("/_strata/") or presigned or s3 or FAULTS.rate <= 0:
            return self.inner(environ, start_response)
        kind = FAULTS.draw(*call_identity(environ))
        if kind is None:
            return self.inner(environ, start_response)
        if kind == "slow":
            environ["strata.arrived"] = time.monotonic()  # the call log counts the wait as part of the call
            time.sleep(0.3)
            return self.inner(environ, start_response)
        if kind in LOST:
            Response.from_app(self.inner, environ).get_data()  # the write happens; its answer is dropped
            if kind == "lost-reset":
                reset_connection(environ)
                return []
            return protocol_error(environ, 500, "InternalFailure", "injected fault after the change")(environ, start_response)
        if kind == "throttle":
            change_batch = environ.get("REQUEST_METHOD") == "POST" and path.rstrip("/").endswith("/rrset")
            code = "PriorRequestNotComplete" if change_batch else "Throttling"
            return protocol_error(environ, 400, code, "Rate exceeded (injected)")(environ, start_response)
        if kind == "reset":
            reset_connection(environ)
            return []
        return protocol_error(environ, int(kind), "InternalFailure" if kind == "500" else "ServiceUnavailable",
                              "injected fault")(environ, start_response)
