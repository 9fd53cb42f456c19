"""What the emulator adds between the AWS SDKs and moto: a log of every AWS call served, IAM enforced for the
functions' own roles (strata_iam.py), and AWS's own idempotency for the creates where moto differs.

The log is how benchmarks and tests count AWS calls per invocation exactly (GET /_strata/calls).
"""

import io
import re
import threading
import time
from urllib.parse import parse_qs, urlencode

from werkzeug.wrappers import Response

import strata_iam


class CallLog:
    def __init__(self):
        self._lock = threading.Lock()
        self._calls = []

    def add(self, service, operation):
        """Logs a call as it starts; returns its entry, whose `end` is set when it is answered."""
        entry = {"service": service, "operation": operation, "start": time.monotonic(), "end": None}
        with self._lock:
            self._calls.append(entry)
        return entry

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
        if environ.get("PATH_INFO", "").startswith("/_strata/"):
            return self.inner(environ, start_response)
        entry = CALLS.add(*describe_call(environ))
        entry["start"] = environ.get("strata.arrived", entry["start"])
        try:
            refused = strata_iam.authorize(environ, entry)
            if refused is not None:
                return refused(environ, start_response)
            return self._answer(environ, start_response)
        finally:
            entry["end"] = time.monotonic()

    def _answer(self, environ, start_response):
        if is_idempotent_create(environ):
            with IDEMPOTENT_LOCK:
                existing = idempotent_create(self.inner, environ, start_response)
                if existing is not None:
                    return existing(environ, start_response)
                return self._through(environ, start_response)
        return self.inner(environ, start_response)

    def _through(self, environ, start_response):
        # Consume moto's answer inside the lock, so that the create has happened before the next look-up.
        response = Response.from_app(self.inner, environ)
        if response.status_code == 201 and "strata.caller_reference" in environ:
            USED_CALLER_REFERENCES.add(environ["strata.caller_reference"])
        return response(environ, start_response)


# --- AWS's documented idempotency, which moto lacks (measured; see DESIGN.md §6) --------------------------
# CreateLoadBalancer with a name that exists and the same settings returns that load balancer (AWS), where moto
# makes a second one; with other settings it is DuplicateLoadBalancerName. CreateTargetGroup likewise (moto always
# fails). CreateHealthCheck with a CallerReference already used returns that health check if the settings are the
# same, and is HealthCheckAlreadyExists otherwise or once that health check was deleted (moto makes a new one). A lock makes
# each look-up-then-create atomic, as it is inside AWS, so racing invocations are tested against AWS's behaviour.

IDEMPOTENT_LOCK = threading.Lock()


def call_inner(app, environ, body, content_type="application/x-www-form-urlencoded"):
    """Runs one request through moto and returns (status code, headers, body bytes)."""
    env = dict(environ)
    env["wsgi.input"] = io.BytesIO(body)
    env["CONTENT_LENGTH"] = str(len(body))
    env["CONTENT_TYPE"] = content_type
    response = Response.from_app(app, env)
    return response.status_code, dict(response.headers), response.get_data()


def replay(status, headers, body, start_response):
    return Response(body, status=status, headers=headers)


def elbv2_create_idempotent(app, environ, form, start_response):
    action = form["Action"][0]
    name = form.get("Name", [""])[0]
    if action == "CreateLoadBalancer":
        describe = {"Action": "DescribeLoadBalancers", "Version": form["Version"][0], "Names.member.1": name}
        renames = (b"DescribeLoadBalancers", b"CreateLoadBalancer")
    else:
        describe = {"Action": "DescribeTargetGroups", "Version": form["Version"][0], "Names.member.1": name}
        renames = (b"DescribeTargetGroups", b"CreateTargetGroup")
    status, headers, body = call_inner(app, environ, urlencode(describe).encode())
    if status != 200:
        return None
    differences = elbv2_differences(action, form, body)
    
    if differences:
        code = "DuplicateLoadBalancerName" if action == "CreateLoadBalancer" else "DuplicateTargetGroupName"
        kind = "load balancer" if action == "CreateLoadBalancer" else "target group"
        return query_error(400, code, f"A {kind} with the same name '{name}' exists, but with different settings")
    body = body.replace(renames[0], renames[1])
    headers.pop("Content-Length", None)
    return replay(status, headers, body, start_response)


# Settings a create is compared on (AWS: "If you attempt to create multiple load balancers/target groups with the
# same settings, each call succeeds"; other settings: Duplicate...Name). Omitted members count with AWS's default.
# Tags are not compared.
LOAD_BALANCER_SETTINGS = {"Type": "application", "Scheme": "internet-facing", "IpAddressType": "ipv4"}
TARGET_GROUP_SETTINGS = {
    "Protocol": None, "Port": None, "VpcId": None, "TargetType": "instance", "HealthCheckProtocol": None,
    "HealthCheckPort": None, "HealthCheckPath": None, "HealthCheckIntervalSeconds": None,
    "HealthCheckTimeoutSeconds": None, "HealthyThresholdCount": None, "UnhealthyThresholdCount": None,
    "Matcher.HttpCode": None,
}


def elbv2_differences(action, form, describe_body):
    """The settings in which a create differs from the existing resource of that name (moto's own state)."""
    from moto.elbv2.models import elbv2_backends

    arn_tag = b"LoadBalancerArn" if action == "CreateLoadBalancer" else b"TargetGroupArn"
    match = re.search(rb"<" + arn_tag + rb">([^<]+)</" + arn_tag + rb">", describe_body)
    if not match:
        return []
    arn = match.group(1).decode()
    _, _, _, region, account, _ = arn.split(":", 5)
    backend = elbv2_backends[account][region]
    given = {k: v[0] for k, v in form.items()}
    differences = []
    if action == "CreateLoadBalancer":
        lb = backend.load_balancers.get(arn)
        if lb is None:
            return []
        existing = {"Type": lb.type, "Scheme": lb.scheme, "IpAddressType": lb.ip_address_type}
        for key, default in LOAD_BALANCER_SETTINGS.items():
            if str(given.get(key, default)).lower() != str(existing[key] or default).lower():
                differences.append(key)
        subnets = {v for k, v in given.items() if k.startswith("Subnets.member.")}
        subnets |= {v for k, v in given.items() if k.startswith("SubnetMappings.member.") and k.endswith(".SubnetId")}
        if subnets and subnets != {s.id for s in lb.subnets}:
            differences.append("Subnets")
        groups = {v for k, v in given.items() if k.startswith("SecurityGroups.member.")}
        if groups and groups != set(lb.security_groups or []):
            differences.append("SecurityGroups")
        return differences
    tg = backend.target_groups.get(arn)
    if tg is None:
        return []
    existing = {
        "Protocol": tg.protocol, "Port": tg.port, "VpcId": tg.vpc_id, "TargetType": tg.target_type,
        "HealthCheckProtocol": tg.health_check_protocol, "HealthCheckPort": tg.health_check_port,
        "HealthCheckPath": tg.health_check_path, "HealthCheckIntervalSeconds": tg.health_check_interval_seconds,
        "HealthCheckTimeoutSeconds": tg.health_check_timeout_seconds,
        "HealthyThresholdCount": tg.healthy_threshold_count, "UnhealthyThresholdCount": tg.unhealthy_threshold_count,
        "Matcher.HttpCode": (getattr(tg, "matcher", None) or {}).get("HttpCode"),
    }
    for key, default in TARGET_GROUP_SETTINGS.items():
        wanted = given.get(key, default)
        if wanted is not None and str(wanted).lower() != str(existing[key]).lower():
            differences.append(key)
    return differences


def query_error(status, code, message):
    xml = (
        '<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><Error><Type>Sender</Type>'
        f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>strata-faithful</RequestId></ErrorResponse>"
    )
    return Response(xml, status=status, content_type="text/xml")


# CallerReferences of every health check created here: Route 53 refuses one again after its health check was
# deleted ("regardless of the settings": HealthCheckAlreadyExists), for a number of days.
USED_CALLER_REFERENCES = set()


def health_check_already_exists(reference):
    xml = (
        '<?xml version="1.0"?>\n<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>Sender</Type>'
        "<Code>HealthCheckAlreadyExists</Code><Message>A health check with the CallerReference "
        f"{reference} already exists or was deleted, and the settings differ or it cannot be re-used</Message></Error>"
        "<RequestId>strata-faithful</RequestId></ErrorResponse>"
    )
    return Response(xml, status=409, content_type="text/xml")


def health_check_settings(xml):
    """The HealthCheckConfig elements of a request or a listed health check: {tag: text}."""
    match = re.search(rb"<HealthCheckConfig>(.*?)</HealthCheckConfig>", xml, re.S)
    if not match:
        return {}
    return {m.group(1): m.group(2).strip().lower() for m in re.finditer(rb"<(\w+)>([^<]*)</\1>", match.group(1))}


def route53_health_check_idempotent(app, environ, body, start_response):
    match = re.search(rb"<CallerReference>([^<]+)</CallerReference>", body)
    if not match:
        return None
    reference = match.group(1)
    environ["strata.caller_reference"] = reference
    env = dict(environ)
    env["REQUEST_METHOD"] = "GET"
    env["QUERY_STRING"] = ""
    status, headers, listing = call_inner(app, env, b"", content_type="")
    for check in re.findall(rb"<HealthCheck>.*?</HealthCheck>", listing, re.S):
        if b"<CallerReference>" + reference + b"</CallerReference>" in check:
            wanted, existing = health_check_settings(body), health_check_settings(check)
            if any(k in existing and existing[k] != v for k, v in wanted.items()):
                return health_check_already_exists(reference.decode())
            xml = (b'<?xml version="1.0" encoding="UTF-8"?>\n<CreateHealthCheckResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
                   + check + b"</CreateHealthCheckResponse>")
            check_id = re.search(rb"<Id>([^<]+)</Id>", check).group(1).decode()
            return replay(201, {"Content-Type": "text/xml", "Location": f"https://route53.amazonaws.com/2013-04-01/healthcheck/{check_id}"},
                          xml, start_response)
    if reference in USED_CALLER_REFERENCES:
        return health_check_already_exists(reference.decode())
    return None


def idempotent_create(app, environ, start_response):
    """An AWS-faithful answer for a create that already happened, or None to let moto create."""
    path = environ.get("PATH_INFO", "")
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        form = parse_qs(body.decode(errors="replace"))
        if form.get("Action", [""])[0] in ("CreateLoadBalancer", "CreateTargetGroup") and "Name" in form:
            return elbv2_create_idempotent(app, environ, form, start_response)
    elif environ.get("REQUEST_METHOD") == "POST" and path.rstrip("/").endswith("/2013-04-01/healthcheck"):
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        return route53_health_check_idempotent(app, environ, body, start_response)
    return None


def is_idempotent_create(environ):
    path = environ.get("PATH_INFO", "")
    if environ.get("REQUEST_METHOD") == "POST" and path.rstrip("/").endswith("/2013-04-01/healthcheck"):
        return True
    return environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded") and "elasticloadbalancing" in environ.get(
        "HTTP_AUTHORIZATION", ""
    )


# --- AWS quotas where moto is stricter -------------------------------------------------------------------
# ELBv2 allows 50 tags per resource (AWS quota "Tags per load balancer / target group"); moto refuses an 11th.
ELBV2_TAGS_PER_RESOURCE = 50


def patch_moto():
    from moto.elbv2.exceptions import TooManyTagsError
    from moto.elbv2.models import ELBv2Backend

    def add_tags(self, resource_arns, tags):
        tag_dict = self.tagging_service.flatten_tag_list(tags)
        for arn in resource_arns:
            existing = self.tagging_service.get_tag_dict_for_resource(arn)
            if len(set(existing) | set(tag_dict)) > ELBV2_TAGS_PER_RESOURCE:
                raise TooManyTagsError()
            self._get_resource_by_arn(arn)
            self.tagging_service.tag_resource(arn, tags)

    ELBv2Backend.add_tags = add_tags
    patch_detach()
    import strata_strict

    strata_strict.patch_moto()


def patch_detach():
    """DetachLoadBalancerTargetGroups succeeds on AWS when some of the ASG's instances were already deregistered
    from the target group by hand; moto deregisters every instance and fails on the first missing one."""
    from moto.autoscaling.models import AutoScalingBackend

    def detach_load_balancer_target_groups(self, group_name, target_group_arns):
        group = self.autoscaling_groups[group_name]
        group.target_group_arns = [x for x in group.target_group_arns if x not in target_group_arns]
        for arn in target_group_arns:
            target_group = self.elbv2_backend.target_groups.get(arn)
            registered = set(target_group.targets) if target_group else set()
            targets = [{"Id": s.instance.id} for s in group.instance_states if s.instance.id in registered]
            if targets:
                self.elbv2_backend.deregister_targets(arn, targets)

    AutoScalingBackend.detach_load_balancer_target_groups = detach_load_balancer_target_groups
