"""What the emulator adds between the AWS SDKs and moto: a log of every AWS call served.

The log is how benchmarks and tests count AWS calls per invocation exactly (GET /_strata/calls).
"""

import io
import re
import threading
from urllib.parse import parse_qs


class CallLog:
    def __init__(self):
        self._lock = threading.Lock()
        self._calls = []

    def add(self, service, operation):
        with self._lock:
            self._calls.append({"service": service, "operation": operation})

    def snapshot(self):
        with self._lock:
            return list(self._calls)


CALLS = CallLog()
CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")
# A pre-signed URL carries its scope in the query: X-Amz-Credential=KEY%2FDATE%2FREGION%2FSERVICE%2Faws4_request
PRESIGNED_SCOPE = re.compile(r"X-Amz-Credential=[^&]*?%2F[^&]*?%2F[^&]*?%2F([^&%]+)%2Faws4_request")


def describe_call(environ):
    """(service, operation) of one AWS request, whatever its protocol."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    match = CREDENTIAL_SCOPE.search(auth) or PRESIGNED_SCOPE.search(environ.get("QUERY_STRING", ""))
    query = environ.get("QUERY_STRING", "")
    presigned_v2 = "AWSAccessKeyId=" in query and "Signature=" in query  # S3's older pre-signed URLs
    service = match.group(1) if match else ("s3" if presigned_v2 else "unsigned")
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return service, target.split(".")[-1]
    path = environ.get("PATH_INFO", "")
    if path.startswith("/service/"):
        return service, path.rsplit("/", 1)[-1]
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        # Buffer the body so that moto still reads it whole after us.
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        action = parse_qs(body.decode(errors="replace")).get("Action", ["unknown"])
        return service, action[0]
    return service, f"{environ.get('REQUEST_METHOD')} {path}"


class FaithfulAws:
    """WSGI middleware in front of moto: records each call, then lets moto answer."""

    def __init__(self, inner):
        self.inner = inner

    def __call__(self, environ, start_response):
        if not environ.get("PATH_INFO", "").startswith("/_strata/"):
            CALLS.add(*describe_call(environ))
        return self.inner(environ, start_response)
