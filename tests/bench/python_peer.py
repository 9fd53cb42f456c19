"""What a team would otherwise write: a Python 3 boto3 Lambda function with the same four clients doing the
same observe as the dns-rebalancer (ALBs and TGs by name, their tags, alarms, records, target health).
It speaks the Lambda Runtime API itself (as the AWS Python runtime's bootstrap does), so it is started,
driven and measured exactly like the Rust binaries (see tests/src/bin/strata-bench.rs).
"""

import json
import os
import urllib.request

import boto3

API = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime/invocation"

# Cold start work, as in the Rust functions: the four clients, once.
elbv2 = boto3.client("elbv2")
autoscaling = boto3.client("autoscaling")
route53 = boto3.client("route53")
cloudwatch = boto3.client("cloudwatch")


def observe(fleet):
    lbs = [lb for page in elbv2.get_paginator("describe_load_balancers").paginate()
           for lb in page["LoadBalancers"] if lb["LoadBalancerName"].startswith(f"{fleet}-s")]
    tgs = [tg for page in elbv2.get_paginator("describe_target_groups").paginate()
           for tg in page["TargetGroups"] if tg["TargetGroupName"].startswith(f"{fleet}-s")]
    arns = [lb["LoadBalancerArn"] for lb in lbs] + [tg["TargetGroupArn"] for tg in tgs]
    tags = {}
    for i in range(0, len(arns), 20):
        for d in elbv2.describe_tags(ResourceArns=arns[i:i + 20])["TagDescriptions"]:
            tags[d["ResourceArn"]] = {t["Key"]: t.get("Value", "") for t in d["Tags"]}
    alarms = cloudwatch.describe_alarms(AlarmNamePrefix=f"strata-{fleet}-")["MetricAlarms"]
    zone = next((t.get("strata:policy:hosted-zone-id") for t in tags.values() if "strata:policy:hosted-zone-id" in t), None)
    records = route53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"] if zone else []
    owned = [r for r in records if r.get("SetIdentifier", "").startswith(f"strata:{fleet}:")]
    health = {tg["TargetGroupName"]: len(elbv2.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])["TargetHealthDescriptions"])
              for tg in tgs}
    return {"shards": len(lbs), "records": len(owned), "alarms": len(alarms), "targets": health}


while True:
    with urllib.request.urlopen(f"{API}/next") as response:
        request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(response.read())
    body = json.dumps(observe(event.get("fleet", "web"))).encode()
    urllib.request.urlopen(urllib.request.Request(f"{API}/{request_id}/response", data=body, method="POST")).read()
