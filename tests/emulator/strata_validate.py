"""Request validation as AWS does it, before moto sees the request.

moto checks few of the constraints of AWS's API models; AWS checks them all and refuses the whole request. Every
ELBv2, Auto Scaling, CloudWatch and Route 53 request is parsed into its operation's input shape, from botocore's
service model, and checked for: required members, list and string lengths (min/max), enum values and numeric
ranges. Not checked: `pattern` (the models' Java regular expressions do not all translate to Python's).

A violation is answered as AWS answers it, in the request's protocol: HTTP 400 with
`ValidationError` (ELBv2, Auto Scaling, CloudWatch) or `InvalidInput` (Route 53), and AWS's message:
"1 validation error detected: Value '21' at 'attributes' failed to satisfy constraint: Member must have length
less than or equal to 20".
"""

import io
import json
import re
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, unquote

from botocore.loaders import Loader
from werkzeug.wrappers import Response

import strata_faithful

# Which service a request is for: the SigV4 scope's service name, as the SDKs sign it.
SIGNING_NAMES = {"elasticloadbalancing": "elbv2", "autoscaling": "autoscaling", "monitoring": "cloudwatch", "route53": "route53"}
ERROR_CODES = {"elbv2": "ValidationError", "autoscaling": "ValidationError", "cloudwatch": "ValidationError", "route53": "InvalidInput"}
CLOUDWATCH_TARGET = "GraniteServiceVersion20100801."


class Models:
    def __init__(self):
        loader = Loader()
        self.models = {name: loader.load_service_model(name, "service-2") for name in ERROR_CODES}
        self.route53_routes = [
            (op["http"]["method"], route_pattern(op["http"]["requestUri"]), name)
            for name, op in self.models["route53"]["operations"].items()
        ]
        # A literal path wins over a label (`/healthcheckcount` over `/healthcheck/{HealthCheckId}`).
        self.route53_routes.sort(key=lambda r: r[1][1])

    def shape(self, service, name):
        return self.models[service]["shapes"][name]

    def input_shape(self, service, operation):
        op = self.models[service]["operations"].get(operation)
        return op.get("input", {}).get("shape") if op else None


def route_pattern(request_uri):
    """A regex for a REST request URI template, and how many labels it has."""
    path = request_uri.split("?")[0].rstrip("/")
    labels = re.findall(r"\{([^}]+)\}", path)
    regex = re.escape(path)
    for label in labels:
        name = label.rstrip("+")
        part = "(?P<%s>.+)" % name if label.endswith("+") else "(?P<%s>[^/]+)" % name
        regex = regex.replace(re.escape("{" + label + "}"), part)
    return re.compile("^" + regex + "/?$"), len(labels)


# --- parsing each protocol into the input shape ---------------------------------------------------------------

def query_tree(form):
    """`Tags.member.1.Key=v` -> {"Tags": {"member": {"1": {"Key": "v"}}}}."""
    tree = {}
    for key, values in form.items():
        node = tree
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):  # `Foo=` (an empty list) and `Foo.member.1=` both given
                child = node[part] = {}
            node = child
        node.setdefault(parts[-1], values[-1])
    return tree


def from_query(models, service, shape_name, node):
    shape = models.shape(service, shape_name)
    kind = shape["type"]
    if kind == "structure":
        if not isinstance(node, dict):
            return {}
        out = {}
        for name, member in shape.get("members", {}).items():
            wire = member.get("locationName", name)
            if wire in node:
                out[name] = from_query(models, service, member["shape"], node[wire])
        return out
    if kind == "list":
        if not isinstance(node, dict):
            return []  # `Foo=`: AWS's encoding of an empty list
        items = node.get(shape["member"].get("locationName", "member"), {})
        if not isinstance(items, dict):
            return []
        ordered = sorted(items.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0)
        return [from_query(models, service, shape["member"]["shape"], v) for _, v in ordered]
    if kind == "map":
        entries = node.get("entry", {}) if isinstance(node, dict) else {}
        return {
            e.get("key"): from_query(models, service, shape["value"]["shape"], e.get("value"))
            for e in entries.values() if isinstance(e, dict)
        }
    return node


def local(tag):
    return tag.split("}", 1)[-1]


def from_xml(models, service, shape_name, element):
    shape = models.shape(service, shape_name)
    kind = shape["type"]
    if kind == "structure":
        out = {}
        members = {m.get("locationName", n): (n, m) for n, m in shape.get("members", {}).items() if "location" not in m}
        for child in element:
            if local(child.tag) in members:
                name, member = members[local(child.tag)]
                out[name] = from_xml(models, service, member["shape"], child)
        return out
    if kind == "list":
        return [from_xml(models, service, shape["member"]["shape"], child) for child in element]
    return element.text or ""


# --- validation -----------------------------------------------------------------------------------------------

def lower_first(name):
    return name[:1].lower() + name[1:]


def render(value):
    """The value as AWS's message shows it (Java's toString, roughly)."""
    if value is None:
        return "null"
    if isinstance(value, list):
        return "[" + ", ".join(render_inner(v) for v in value) + "]"
    return render_inner(value)


def render_inner(value):
    if isinstance(value, dict):
        return "{" + ", ".join(f"{lower_first(k)}={render_inner(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(render_inner(v) for v in value) + "]"
    return str(value)


def number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    try:
        return float(value) if "." in str(value) or "e" in str(value).lower() else int(value)
    except (TypeError, ValueError):
        return None


def validate(models, service, shape_name, value, path, problems):
    """Appends AWS's wording of each violated constraint of `value` (at `path`) to `problems`."""
    shape = models.shape(service, shape_name)
    kind = shape["type"]
    shown = "'" + render(value) + "'" if value is not None else "null"

    def fail(constraint):
        problems.append(f"Value {shown} at '{path}' failed to satisfy constraint: Member must {constraint}")

    if kind == "structure" and isinstance(value, dict):
        for name, member in shape.get("members", {}).items():
            sub = f"{path}.{lower_first(name)}" if path else lower_first(name)
            if name not in value:
                if name in shape.get("required", []):
                    problems.append(f"Value null at '{sub}' failed to satisfy constraint: Member must not be null")
                continue
            validate(models, service, member["shape"], value[name], sub, problems)
    elif kind in ("list", "map") and isinstance(value, (list, dict)):
        if "min" in shape and len(value) < shape["min"]:
            fail(f"have length greater than or equal to {shape['min']}")
        if "max" in shape and len(value) > shape["max"]:
            fail(f"have length less than or equal to {shape['max']}")
        if kind == "list":
            for i, item in enumerate(value, start=1):
                validate(models, service, shape["member"]["shape"], item, f"{path}.{i}.member", problems)
    elif kind == "string" and isinstance(value, str):
        if "min" in shape and len(value) < shape["min"]:
            fail(f"have length greater than or equal to {shape['min']}")
        if "max" in shape and len(value) > shape["max"]:
            fail(f"have length less than or equal to {shape['max']}")
        if "enum" in shape and value not in shape["enum"]:
            fail("satisfy enum value set: [" + ", ".join(shape["enum"]) + "]")
    elif kind in ("integer", "long", "float", "double"):
        n = number(value)
        if n is not None:
            if "min" in shape and n < shape["min"]:
                fail(f"have value greater than or equal to {shape['min']}")
            if "max" in shape and n > shape["max"]:
                fail(f"have value less than or equal to {shape['max']}")


def problems_of(models, service, operation, params):
    shape = models.input_shape(service, operation)
    if shape is None:
        return []
    problems = []
    validate(models, service, shape, params, "", problems)
    return problems


def message_of(problems):
    count = len(problems)
    return f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(problems)


# --- the middleware -------------------------------------------------------------------------------------------

def service_of(environ):
    auth = environ.get("HTTP_AUTHORIZATION", "")
    match = strata_faithful.CREDENTIAL_SCOPE.search(auth)
    return SIGNING_NAMES.get(match.group(1)) if match else None


def read_body(environ):
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def error_response(service, message):
    code = ERROR_CODES[service]
    if service == "cloudwatch":  # still awsJson here: the CBOR front turns it into rpc-v2-cbor
        body = json.dumps({"__type": code, "message": message})
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-query-error": f"{code};Sender"}
        return Response(body, status=400, headers=headers)
    namespace = {
        "elbv2": "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
        "autoscaling": "http://autoscaling.amazonaws.com/doc/2011-01-01/",
        "route53": "https://route53.amazonaws.com/doc/2013-04-01/",
    }[service]
    escaped = message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    xml = (
        f'<?xml version="1.0"?>\n<ErrorResponse xmlns="{namespace}"><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{escaped}</Message></Error><RequestId>strata-validation</RequestId></ErrorResponse>"
    )
    return Response(xml, status=400, content_type="text/xml")


class Validator:
    """WSGI middleware: refuses, as AWS does, a request that breaks its operation's API model."""

    def __init__(self, inner):
        self.inner = inner
        self.models = Models()

    def __call__(self, environ, start_response):
        service = service_of(environ)
        if service is None or environ.get("PATH_INFO", "").startswith("/_strata/"):
            return self.inner(environ, start_response)
        try:
            operation, params = self.parse(service, environ)
        except (ValueError, ET.ParseError):
            return self.inner(environ, start_response)  # moto answers a malformed request its own way
        problems = problems_of(self.models, service, operation, params) if operation else []
        if not problems:
            return self.inner(environ, start_response)
        entry = strata_faithful.CALLS.add(*strata_faithful.describe_call(environ))  # a refused call is a call
        entry["end"] = entry["start"]
        return error_response(service, message_of(problems))(environ, start_response)

    def parse(self, service, environ):
        if service == "cloudwatch":
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            if not target.startswith(CLOUDWATCH_TARGET):
                return None, None
            body = read_body(environ)
            return target[len(CLOUDWATCH_TARGET):], json.loads(body or b"{}")
        if service == "route53":
            return self.parse_route53(environ)
        body = read_body(environ)
        form = parse_qs(body.decode(), keep_blank_values=True)
        operation = form.pop("Action", [None])[0]
        form.pop("Version", None)
        shape = self.models.input_shape(service, operation) if operation else None
        if shape is None:
            return None, None
        return operation, from_query(self.models, service, shape, query_tree(form))

    def parse_route53(self, environ):
        method = environ.get("REQUEST_METHOD")
        path = unquote(environ.get("PATH_INFO", ""))
        for route_method, (pattern, _), operation in self.models.route53_routes:
            match = pattern.match(path) if route_method == method else None
            if match:
                break
        else:
            return None, None
        shape_name = self.models.input_shape("route53", operation)
        if shape_name is None:
            return operation, {}
        shape = self.models.shape("route53", shape_name)
        body = read_body(environ)
        params = from_xml(self.models, "route53", shape_name, ET.fromstring(body)) if body.strip() else {}
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        for name, member in shape.get("members", {}).items():
            where, wire = member.get("location"), member.get("locationName", name)
            if where == "uri" and match.group(wire.rstrip("+")) is not None:
                params[name] = match.group(wire.rstrip("+"))
            elif where == "querystring" and wire in query:
                params[name] = query[wire][-1]
        return operation, params
