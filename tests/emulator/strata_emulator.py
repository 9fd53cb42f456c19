"""Strata's emulated AWS: a moto server on loopback, with a CBOR front for CloudWatch.

Usage: python strata_emulator.py [--port 0]
Prints `STRATA_EMULATOR_READY http://127.0.0.1:<port>` once it serves, and exits when its standard input
closes, so a test that dies (panic, kill) never leaves a server behind.

Why a front: the current aws-sdk-cloudwatch speaks only Smithy rpc-v2-cbor, which moto does not. The front
turns such a request into CloudWatch's awsJson 1.0 (same shapes; only timestamps differ), lets moto answer,
and turns the answer back into CBOR, tagging timestamps from botocore's own CloudWatch model.
Everything else goes to moto untouched.

Control endpoints (under /_strata/, never an AWS path): see strata_control.py.
"""

import argparse
import datetime as dt
import json
import os
import sys
import threading

import cbor2
from botocore.loaders import Loader
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

import strata_control
import strata_defaults
import strata_capacity
import strata_limits
import strata_faithful
import strata_faults
import strata_validate

CBOR_PATH_PREFIX = "/service/GraniteServiceVersion20100801/operation/"
JSON_TARGET_PREFIX = "GraniteServiceVersion20100801."


class CloudWatchModel:
    """Which members of CloudWatch's shapes are timestamps, from botocore's model."""

    def __init__(self):
        self.model = Loader().load_service_model("cloudwatch", "service-2")
        self.shapes = self.model["shapes"]

    def output_shape(self, operation):
        op = self.model["operations"].get(operation, {})
        return op.get("output", {}).get("shape")

    def to_cbor_value(self, shape_name, value):
        """Walk a JSON answer along its shape; timestamps become CBOR tag 1 (epoch seconds)."""
        if shape_name is None or value is None:
            return value
        shape = self.shapes[shape_name]
        kind = shape["type"]
        if kind == "structure" and isinstance(value, dict):
            members = shape.get("members", {})
            return {
                k: self.to_cbor_value(members.get(k, {}).get("shape"), v)
                for k, v in value.items()
            }
        if kind == "list" and isinstance(value, list):
            return [self.to_cbor_value(shape["member"]["shape"], v) for v in value]
        if kind == "map" and isinstance(value, dict):
            return {k: self.to_cbor_value(shape["value"]["shape"], v) for k, v in value.items()}
        if kind == "timestamp":
            return cbor2.CBORTag(1, epoch_seconds(value))
        if kind in ("double", "float") and isinstance(value, int):
            return float(value)
        return value


def epoch_seconds(value):
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.timestamp()
    text = str(value).replace("Z", "+00:00")
    try:
        return float(text)
    except ValueError:
        parsed = dt.datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.timezone.utc)
        return parsed.timestamp()


def from_cbor_value(value):
    """A decoded CBOR request value as JSON: datetimes (tag 1) become epoch seconds."""
    if isinstance(value, dict):
        return {k: from_cbor_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_cbor_value(v) for v in value]
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.timestamp()
    if isinstance(value, bytes):
        import base64

        return base64.b64encode(value).decode()
    return value


class CborFront:
    """WSGI middleware: CloudWatch rpc-v2-cbor <-> moto's CloudWatch awsJson 1.0."""

    def __init__(self, inner, model):
        self.inner = inner
        self.model = model

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith(CBOR_PATH_PREFIX):
            return self.inner(environ, start_response)
        operation = path[len(CBOR_PATH_PREFIX):]
        request = Request(environ)
        raw = request.get_data()
        try:
            params = cbor2.loads(raw) if raw else {}
        except Exception as err:  # a malformed body is the client's fault, as on AWS
            return cbor_error(400, "SerializationException", str(err))(environ, start_response)
        body = json.dumps(from_cbor_value(params or {})).encode()

        inner_env = dict(environ)
        inner_env["CONTENT_TYPE"] = "application/x-amz-json-1.0"
        inner_env["HTTP_X_AMZ_TARGET"] = JSON_TARGET_PREFIX + operation
        inner_env["CONTENT_LENGTH"] = str(len(body))
        inner_env["PATH_INFO"] = "/"
        import io

        inner_env["wsgi.input"] = io.BytesIO(body)
        inner_resp = Response.from_app(self.inner, inner_env)
        text = inner_resp.get_data()
        status = inner_resp.status_code
        try:
            answer = json.loads(text) if text.strip() else {}
        except ValueError:
            return cbor_error(500, "InternalFailure", text.decode(errors="replace")[:500])(
                environ, start_response
            )
        if status >= 300:
            code = str(answer.get("__type", "InternalFailure")).split("#")[-1]
            message = answer.get("message") or answer.get("Message") or ""
            query_error = inner_resp.headers.get("x-amzn-query-error")
            return cbor_error(status, code, message, query_error)(environ, start_response)
        payload = self.model.to_cbor_value(self.model.output_shape(operation), answer)
        return cbor_response(200, payload or {})(environ, start_response)


def cbor_response(status, payload, extra_headers=None):
    headers = {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"}
    headers.update(extra_headers or {})
    return Response(cbor2.dumps(payload), status=status, headers=headers)


def cbor_error(status, code, message, query_error=None):
    fault = "Sender" if status < 500 else "Receiver"
    headers = {"x-amzn-query-error": query_error or f"{code};{fault}"}
    body = {"__type": f"com.amazonaws.cloudwatch#{code}", "message": message}
    return cbor_response(status, body, headers)


def serve(port):
    strata_faithful.patch_moto()
    strata_defaults.patch_moto()
    strata_limits.patch_moto()
    strata_capacity.patch_moto()
    backend = DomainDispatcherApplication(create_backend_app)
    app = strata_control.ControlEndpoints(
        strata_faults.FaultInjector(CborFront(strata_validate.Validator(strata_faithful.FaithfulAws(backend)), CloudWatchModel()))
    )
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    app.endpoint = url
    print(f"STRATA_EMULATOR_READY {url}", flush=True)
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    server.serve_forever()


def exit_when_stdin_closes():
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args()
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MOTO_ALLOW_NONEXISTENT_REGION": "false",
    }.items():
        os.environ.setdefault(key, value)
    serve(args.port)


if __name__ == "__main__":
    main()
