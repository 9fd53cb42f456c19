"""What a team would otherwise write: a Python 3 boto3 Lambda function doing the dns-rebalancer's whole pass,
the same calls side by side as Strata makes them: the fleet's ALBs, target groups and alarms; their tags (20 ARNs
a call); then the weighted records, the fleet's ASGs (by name and by tag), the request rates (one GetMetricData)
and each target group's health; then the weights planned as Strata plans them (healthy capacity, hysteresis,
ramp) and, when they change, one ChangeResourceRecordSets batch.
It speaks the Lambda Runtime API itself (as the AWS Python runtime's bootstrap does), so it is started,
driven and measured exactly like the Rust binaries (see tests/src/bin/strata-bench.rs).
"""

import datetime
import json
import math
import os
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import boto3

API = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime/invocation"

# Cold start work, as in the Rust functions: the four clients, once (boto3 clients are thread-safe).
elbv2 = boto3.client("elbv2")
autoscaling = boto3.client("autoscaling")
route53 = boto3.client("route53")
cloudwatch = boto3.client("cloudwatch")
# As many threads as the widest read (one DescribeTargetHealth per shard, at most 50): all side by side.
POOL = ThreadPoolExecutor(max_workers=64)
POLICY = "strata:policy:"


def paged(client, operation, key, **kwargs):
    return [item for page in client.get_paginator(operation).paginate(**kwargs) for item in page[key]]


def shard_of(name, fleet, suffix=""):
    rest = name[len(f"{fleet}-s"):] if name.startswith(f"{fleet}-s") else ""
    rest = rest[: -len(suffix)] if suffix and rest.endswith(suffix) else ("" if suffix else rest)
    return int(rest) if rest.isdigit() else None


def observe(fleet):
    lbs, tgs, alarms = (f.result() for f in [
        POOL.submit(paged, elbv2, "describe_load_balancers", "LoadBalancers"),
        POOL.submit(paged, elbv2, "describe_target_groups", "TargetGroups"),
        POOL.submit(paged, cloudwatch, "describe_alarms", "MetricAlarms", AlarmNamePrefix=f"strata-{fleet}-"),
    ])
    lbs = [lb for lb in lbs if shard_of(lb["LoadBalancerName"], fleet) is not None]
    tgs = [tg for tg in tgs if shard_of(tg["TargetGroupName"], fleet, "-tg") is not None]
    arns = [lb["LoadBalancerArn"] for lb in lbs] + [tg["TargetGroupArn"] for tg in tgs]
    tags = {}
    for answer in POOL.map(lambda chunk: elbv2.describe_tags(ResourceArns=chunk),
                           [arns[i:i + 20] for i in range(0, len(arns), 20)]):
        for d in answer["TagDescriptions"]:
            tags[d["ResourceArn"]] = {t["Key"]: t.get("Value", "") for t in d["Tags"]}
    mine = lambda arn: tags.get(arn, {}).get("strata:fleet") == fleet
    lbs = [lb for lb in lbs if mine(lb["LoadBalancerArn"])]
    tgs = [tg for tg in tgs if mine(tg["TargetGroupArn"])]
    policy = next(({k[len(POLICY):]: v for k, v in tags[lb["LoadBalancerArn"]].items() if k.startswith(POLICY)}
                   for lb in lbs), {})
    zone = policy.get("hosted-zone-id")
    names = " ".join(v for k, v in sorted(policy.items()) if k.startswith("asg-names.")).split()
    records = POOL.submit(lambda: [r for r in paged(route53, "list_resource_record_sets", "ResourceRecordSets",
                                                    HostedZoneId=zone)
                                   if r.get("SetIdentifier", "").startswith(f"strata:{fleet}:")] if zone else [])
    by_name = POOL.submit(lambda: paged(autoscaling, "describe_auto_scaling_groups", "AutoScalingGroups",
                                        AutoScalingGroupNames=names) if names else [])
    by_tag = POOL.submit(lambda: paged(autoscaling, "describe_auto_scaling_groups", "AutoScalingGroups",
                                       Filters=[{"Name": f"tag:{policy['asg-tag-key']}",
                                                 "Values": [policy["asg-tag-value"]]}])
                         if "asg-tag-key" in policy else [])
    now = datetime.datetime.now(datetime.timezone.utc)
    queries = [{"Id": f"s{i}", "MetricStat": {"Metric": {
        "Namespace": "AWS/ApplicationELB", "MetricName": "RequestCount",
        "Dimensions": [{"Name": "LoadBalancer", "Value": lb["LoadBalancerArn"].split(":loadbalancer/")[1]}]},
        "Period": 60, "Stat": "Sum"}} for i, lb in enumerate(lbs)]
    rates = POOL.submit(lambda: cloudwatch.get_metric_data(
        MetricDataQueries=queries, StartTime=now - datetime.timedelta(minutes=5), EndTime=now) if queries else {})
    health = dict(zip([shard_of(tg["TargetGroupName"], fleet, "-tg") for tg in tgs], POOL.map(
        lambda tg: sum(1 for d in elbv2.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])
                       ["TargetHealthDescriptions"] if d["TargetHealth"]["State"] == "healthy"), tgs)))
    # Serving: both halves there and neither marked draining (model.rs is_serving).
    marked = {shard_of(r["LoadBalancerName"], fleet) if "LoadBalancerName" in r else
              shard_of(r["TargetGroupName"], fleet, "-tg")
              for r in lbs + tgs
              if tags[r.get("LoadBalancerArn") or r["TargetGroupArn"]].get("strata:state") == "draining"}
    halves = {shard_of(lb["LoadBalancerName"], fleet) for lb in lbs} & \
             {shard_of(tg["TargetGroupName"], fleet, "-tg") for tg in tgs}
    serving = halves - marked
    return policy, zone, records.result(), health, serving, by_name.result(), by_tag.result(), rates.result(), alarms


def shard_of_record(record, fleet, region):
    prefix = f"strata:{fleet}:{region}:s"
    rest = record.get("SetIdentifier", "")[len(prefix):]
    own = record.get("SetIdentifier", "").startswith(prefix) and rest.isdigit()
    return int(rest) if own and record.get("Weight") is not None else None


def plan(shards, health, serving, policy):
    """plan_weights of shared/src/plan/weights.rs, then the weight guard of plan/guard.rs: ideal weights from
    healthy targets (rounded half away from zero, as Rust's f64::round), changes only outside the hysteresis band
    or where an empty or draining shard still has weight, increases by at most the max step; never all zero, and
    never weight left only on shards without healthy targets while a serving one has some."""
    draining = {i for i, _ in shards if i not in serving}
    largest = max([health.get(i, 0) for i, _ in shards if i not in draining] or [0])
    ideal = [0 if i in draining else 255 if largest == 0 else 0 if health.get(i, 0) == 0
             else max(1, math.floor(255 * health[i] / largest + 0.5)) for i, _ in shards]
    current = [w or 0 for _, w in shards]
    share = lambda ws: [w / sum(ws) if sum(ws) else 0 for w in ws]
    use = [c / t for c, t in zip(share(current), share(ideal)) if t > 0]
    band = int(policy.get("hysteresis-percent", 5)) / 100
    within = not use or (min(use) > 0 and max(use) / min(use) <= 1 + band + 1e-9)
    must_zero = any(t == 0 and c > 0 for t, c in zip(ideal, current))
    if not shards or (within and not must_zero):
        return {}
    step = int(policy.get("max-step", 32))
    after = [min(t, c + step) if t > c else t for c, t in zip(current, ideal)]
    if all(w == 0 for w in after):
        return {}
    healthy_serving = any(i in serving and health.get(i, 0) > 0 for i, _ in shards)
    if healthy_serving and not any(w > 0 and health.get(i, 0) > 0 for (i, _), w in zip(shards, after)):
        return {}
    return {i: w for (i, old), w in zip(shards, after) if old != w}


def rebalance(fleet):
    region = os.environ.get("AWS_REGION", "us-east-1")
    policy, zone, records, health, serving, *_ = observe(fleet)
    shards = sorted({shard_of_record(r, fleet, region): r["Weight"] for r in records
                     if shard_of_record(r, fleet, region) is not None}.items())
    changes = plan(shards, health, serving, policy)
    batch = [{"Action": "UPSERT", "ResourceRecordSet": {**r, "Weight": changes[shard_of_record(r, fleet, region)]}}
             for r in records if shard_of_record(r, fleet, region) in changes]
    if batch:
        route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": batch})
    return {"fleet": fleet, "changes": changes, "records_written": len(batch)}


while True:
    with urllib.request.urlopen(f"{API}/next") as response:
        request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(response.read())
    body = json.dumps(rebalance(event.get("fleet", "web"))).encode()
    urllib.request.urlopen(urllib.request.Request(f"{API}/{request_id}/response", data=body, method="POST")).read()
