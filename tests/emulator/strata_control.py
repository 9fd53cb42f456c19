"""Control endpoints of the emulator, for tests and the demo (never an AWS path).

POST /_strata/seed     {"region", "zone"?, "asgs"?: [{"name", "tags"?, "size"?}]}
                       -> the fixtures a fleet needs: VPC, 3 subnets in 3 AZs, security group, ACM certificate,
                          hosted zone, launch template and ASGs (made through boto3 against this same server).
GET  /_strata/calls    -> every AWS call served so far, in order: [{"service", "operation"}]
POST /_strata/presign  {"bucket", "key"} -> {"url"}: a pre-signed S3 PUT URL (a CloudFormation ResponseURL)
GET  /_strata/object?bucket=B&key=K -> that S3 object's body (404 if absent)
GET|POST /_strata/faults          fault injection (see strata_faults.py)
GET|POST /_strata/transients      {"target_group_in_use_seconds", "web_acl_unavailable_seconds"}: AWS's transients (see strata_strict.py)
GET|POST /_strata/iam {"parameters"?: {name: value}, "template"?: path,
                       "principals"?: [{"access_key_id", "name", "role_name", "policy"}]}
                       -> the roles enforced (see strata_iam.py); the seed sets the HostedZoneId parameter
POST /_strata/stop-instances {"region", "asg", "count"} -> {"stopped": [ids]}: instances that fail health checks
PUT  /_strata/cloudformation/<key>  a ResponseURL on the emulator (as `make local` writes in its events): the body
                       is kept and printed on stdout as `CloudFormation received: <body>`
GET  /_strata/cloudformation -> every answer PUT so far, in order: [{"key", "body"}]
"""

import json
import threading

import boto3
from werkzeug.wrappers import Request, Response

from strata_faithful import CALLS
from strata_faults import FAULTS
import strata_strict
from strata_iam import PRINCIPALS
from strata_capacity import CAPACITY
from strata_limits import LIMITS


class ControlEndpoints:
    def __init__(self, inner):
        self.inner = inner
        self.endpoint = None  # set once the server knows its port
        self.cfn_answers = []
        self.cfn_lock = threading.Lock()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/_strata/"):
            return self.inner(environ, start_response)
        request = Request(environ)
        try:
            response = self.route(path, request)
        except Exception as err:  # a broken fixture must fail the test loudly, with the reason
            response = json_response({"error": f"{type(err).__name__}: {err}"}, 500)
        return response(environ, start_response)

    def route(self, path, request):
        if path == "/_strata/seed":
            return json_response(self.seed(request.get_json()))
        if path == "/_strata/calls":
            return json_response(CALLS.snapshot())
        if path == "/_strata/presign":
            return json_response(self.presign(request.get_json()))
        if path == "/_strata/faults":
            if request.method == "POST":
                FAULTS.configure(request.get_json())
            return json_response(FAULTS.snapshot())
        if path == "/_strata/transients":
            if request.method == "POST":
                return json_response(strata_strict.configure(request.get_json()))
            return json_response(strata_strict.snapshot())
        if path == "/_strata/iam":
            if request.method == "POST":
                return json_response(PRINCIPALS.configure(request.get_json()))
            return json_response(PRINCIPALS.snapshot())
        if path == "/_strata/capacity":
            if request.method == "POST":
                return json_response(CAPACITY.configure(request.get_json()))
            return json_response(CAPACITY.snapshot())
        if path == "/_strata/limits":
            if request.method == "POST":
                return json_response(LIMITS.configure(request.get_json()))
            return json_response(LIMITS.snapshot())
        if path == "/_strata/stop-instances":
            return json_response(self.stop_instances(request.get_json()))
        if path.startswith("/_strata/cloudformation"):
            return self.cloudformation(path, request)
        if path == "/_strata/object":
            return self.read_object(request.args["bucket"], request.args["key"])
        return json_response({"error": f"no control endpoint {path}"}, 404)

    def client(self, service, region="us-east-1"):
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def seed(self, spec):
        region = spec["region"]
        ec2 = self.client("ec2", region)
        vpc_id = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
        by_az = {}
        for subnet in sorted(subnets, key=lambda s: s["AvailabilityZone"]):
            by_az.setdefault(subnet["AvailabilityZone"], subnet["SubnetId"])
        subnet_ids = list(by_az.values())[:3]
        sg_name = spec.get("security_group", "strata-test-alb")
        existing = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [sg_name]}])
        if existing["SecurityGroups"]:
            sg_id = existing["SecurityGroups"][0]["GroupId"]
        else:
            sg_id = ec2.create_security_group(GroupName=sg_name, Description="ALB", VpcId=vpc_id)["GroupId"]
        cert_arn = self.client("acm", region).request_certificate(DomainName="*.example.com")["CertificateArn"]
        zone_id = self.hosted_zone(spec.get("zone", "example.com"))
        # The Strata stack of these tests is deployed for this zone (the template's HostedZoneId parameter).
        PRINCIPALS.configure({"parameters": {"HostedZoneId": zone_id}})
        asg_names = self.seed_asgs(region, subnet_ids, spec.get("asgs", []))
        return {
            "region": region,
            "vpc_id": vpc_id,
            "subnet_ids": subnet_ids,
            "security_group_id": sg_id,
            "certificate_arn": cert_arn,
            "hosted_zone_id": zone_id,
            "asg_names": asg_names,
        }

    def hosted_zone(self, name):
        route53 = self.client("route53")
        for zone in route53.list_hosted_zones()["HostedZones"]:
            if zone["Name"].rstrip(".") == name.rstrip("."):
                return zone["Id"].split("/")[-1]
        created = route53.create_hosted_zone(Name=name, CallerReference=f"strata-test-{name}")
        return created["HostedZone"]["Id"].split("/")[-1]

    def seed_asgs(self, region, subnet_ids, asgs):
        if not asgs:
            return []
        ec2 = self.client("ec2", region)
        template = "strata-test-web"
        found = ec2.describe_launch_templates(
            Filters=[{"Name": "launch-template-name", "Values": [template]}]
        )["LaunchTemplates"]
        if not found:
            ec2.create_launch_template(
                LaunchTemplateName=template,
                LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"},
            )
        autoscaling = self.client("autoscaling", region)
        for asg in asgs:
            size = int(asg.get("size", 2))
            autoscaling.create_auto_scaling_group(
                AutoScalingGroupName=asg["name"],
                LaunchTemplate={"LaunchTemplateName": template, "Version": "$Latest"},
                MinSize=0,
                MaxSize=max(size, 1) * 4,
                DesiredCapacity=size,
                VPCZoneIdentifier=",".join(subnet_ids),
                Tags=[
                    {"Key": k, "Value": v, "PropagateAtLaunch": True, "ResourceId": asg["name"],
                     "ResourceType": "auto-scaling-group"}
                    for k, v in asg.get("tags", {}).items()
                ],
            )
        return [asg["name"] for asg in asgs]

    def stop_instances(self, spec):
        autoscaling = self.client("autoscaling", spec["region"])
        group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[spec["asg"]])["AutoScalingGroups"][0]
        ids = sorted(i["InstanceId"] for i in group["Instances"])[: int(spec["count"])]
        if ids:
            self.client("ec2", spec["region"]).stop_instances(InstanceIds=ids)
        return {"stopped": ids}

    def presign(self, spec):
        s3 = self.client("s3")
        try:
            s3.create_bucket(Bucket=spec["bucket"])
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        url = s3.generate_presigned_url(
            "put_object", Params={"Bucket": spec["bucket"], "Key": spec["key"]}, ExpiresIn=7200
        )
        return {"url": url}

    def cloudformation(self, path, request):
        """CloudFormation's side of a custom resource: what the function PUT to its ResponseURL."""
        if request.method != "PUT":
            with self.cfn_lock:
                return json_response(list(self.cfn_answers))
        key = path[len("/_strata/cloudformation/"):]
        body = request.get_data(as_text=True)
        with self.cfn_lock:
            self.cfn_answers.append({"key": key, "body": body})
        try:
            print(f"CloudFormation received: {body}", flush=True)
        except (BrokenPipeError, ValueError):
            pass  # a harness that stopped reading the emulator's output: the answer is still kept
        return Response(b"", status=200)

    def read_object(self, bucket, key):
        s3 = self.client("s3")
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            return json_response({"error": "no such object"}, 404)
        return Response(body, status=200, content_type="application/octet-stream")


def json_response(value, status=200):
    return Response(json.dumps(value), status=status, content_type="application/json")
