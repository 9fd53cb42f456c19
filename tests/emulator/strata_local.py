"""`make local`: the emulator seeded as `make demo` seeds it, and `cargo lambda watch` serving the four functions
against it, for trying them one invocation at a time with `cargo lambda invoke`.

Usage: python strata_local.py [--port 5000] [--invoke-port 9000] [--dir .strata-local]
       python strata_local.py --wait [--dir .strata-local]   # returns once a running one is ready
       python strata_local.py --stop [--dir .strata-local]   # stops a running one, and returns once it is gone

Once both serve it writes into --dir:
  env                      the environment that reaches the emulator (`. .strata-local/env` before `strata status`)
  events/<function>/*.json every sample of events/, the provisioner's pointed at the seeded VPC, subnets, security
                           group, certificate and hosted zone, with a ResponseURL on the emulator, which prints
                           the answer CloudFormation would get (`CloudFormation received: {...}`)
  emulator.log             the emulator's request log
  ready                    this process's id
It stops (and stops the emulator and cargo lambda watch) on SIGINT/SIGTERM, or when its parent exits.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[2]
REGIONS = ["us-east-1", "eu-west-1"]
# The demo's world (tests/src/bin/strata-demo.rs): two regions with ASGs web-a and batch, zone example.com, a
# foreign ALB and a foreign weighted record; web-c (tagged for the fleet) is the ASG the demo adds in its step 2,
# seeded up front so that events/asg-registrar/create-asg.json finds it.
DEMO_ASGS = [{"name": "web-a", "size": 4}, {"name": "batch", "size": 1}]
JOINING_ASG = {"name": "web-c", "size": 2, "tags": {"strata:fleet": "web"}}
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def control(endpoint, path, body):
    request = urllib.request.Request(
        f"{endpoint}/_strata/{path}", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def client(endpoint, service, region):
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def seed_demo(endpoint):
    """What the demo seeds, by the same control endpoint and the same foreign resources. Returns the fixtures."""
    fixtures = {r: control(endpoint, "seed", {"region": r, "asgs": DEMO_ASGS}) for r in REGIONS}
    control(endpoint, "seed", {"region": REGIONS[0], "asgs": [JOINING_ASG]})
    east = fixtures[REGIONS[0]]
    client(endpoint, "elbv2", REGIONS[0]).create_load_balancer(Name="legacy-api", Subnets=east["subnet_ids"])
    client(endpoint, "route53", REGIONS[0]).change_resource_record_sets(
        HostedZoneId=east["hosted_zone_id"],
        ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
            "Name": "us-east-1.api.example.com", "Type": "A", "SetIdentifier": "legacy", "Weight": 10,
            "AliasTarget": {"HostedZoneId": "Z2P70J7EXAMPLE", "DNSName": "legacy.example.net",
                            "EvaluateTargetHealth": True},
        }}]},
    )
    return fixtures


def local_event(event, endpoint, fixture):
    """A provisioner sample pointed at the seeded fixtures, answering CloudFormation on the emulator."""
    event["ResponseURL"] = f"{endpoint}/_strata/cloudformation/{event['RequestType'].lower()}-{event['RequestId']}"
    for key in ["ResourceProperties", "OldResourceProperties"]:
        props = event.get(key)
        if props is None:
            continue
        props.update({
            "VpcId": fixture["vpc_id"],
            "SubnetIds": fixture["subnet_ids"],
            "SecurityGroupIds": [fixture["security_group_id"]],
            "CertificateArn": fixture["certificate_arn"],
            "HostedZoneId": fixture["hosted_zone_id"],
            # The demo's ASGs: web-a by name, and any ASG tagged strata:fleet=web (web-c).
            "AutoScalingGroupNames": ["web-a"],
            "AutoScalingGroupTag": {"Key": "strata:fleet", "Value": "web"},
            "DeregistrationDelaySeconds": "5",
        })
    return event


def write_events(out, endpoint, fixtures):
    target = out / "events"
    shutil.rmtree(target, ignore_errors=True)
    for source in sorted((ROOT / "events").glob("*/*.json")):
        event = json.loads(source.read_text())
        if source.parent.name == "provisioner":
            event = local_event(event, endpoint, fixtures[REGIONS[0]])
        path = target / source.parent.name / source.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(event, indent=2) + "\n")


def environment(endpoint):
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": REGIONS[0],
        "AWS_DEFAULT_REGION": REGIONS[0],
        **CREDENTIALS,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def relay(stream, prefix=""):
    for line in iter(stream.readline, b""):
        sys.stdout.write(prefix + line.decode(errors="replace"))
        sys.stdout.flush()


def wait_for_port(port, what, process, timeout=1800):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{what} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)
    sys.exit(f"{what} does not serve on 127.0.0.1:{port} after {timeout} s")


def run(args):
    out = Path(args.dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    (out / "ready").unlink(missing_ok=True)
    parent = os.getppid()
    emulator = subprocess.Popen(
        [sys.executable, str(ROOT / "tests/emulator/strata_emulator.py"), "--port", str(args.port)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(out / "emulator.log", "wb"),
    )
    banner = emulator.stdout.readline().decode()
    if not banner.startswith("STRATA_EMULATOR_READY "):
        sys.exit(f"the emulator did not start (is port {args.port} free?): {banner!r}")
    endpoint = banner.split()[1]
    threading.Thread(target=relay, args=(emulator.stdout,), daemon=True).start()
    fixtures = seed_demo(endpoint)
    write_events(out, endpoint, fixtures)
    env = environment(endpoint)
    (out / "env").write_text("".join(f"export {k}={v}\n" for k, v in env.items()))
    # Its own session, so that stopping it stops the function processes it started too.
    watch = subprocess.Popen(
        [str(Path(sys.executable).parent / "cargo-lambda"), "lambda", "watch",
         "--invoke-address", "127.0.0.1", "--invoke-port", str(args.invoke_port)],
        cwd=ROOT, env={**os.environ, **env}, stdin=subprocess.DEVNULL, start_new_session=True,
    )

    def stop(*_):
        try:
            os.killpg(watch.pid, signal.SIGTERM)
            watch.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(watch.pid, signal.SIGKILL)
        emulator.stdin.close()  # the emulator exits when its stdin closes
        try:
            emulator.wait(timeout=10)
        except subprocess.TimeoutExpired:
            emulator.kill()
        (out / "ready").unlink(missing_ok=True)
        os._exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    wait_for_port(args.invoke_port, "cargo lambda watch", watch)
    (out / "ready").write_text(f"{os.getpid()}\n")
    print(f"STRATA_LOCAL_READY emulator {endpoint} (seeded as the demo), cargo lambda watch on "
          f"127.0.0.1:{args.invoke_port}, events in {out / 'events'}, environment in {out / 'env'}", flush=True)
    while os.getppid() == parent and watch.poll() is None and emulator.poll() is None:
        time.sleep(1)
    stop()


def wait(args):
    """Returns once a running `make local` is ready (its `ready` file names a live process)."""
    ready = Path(args.dir) / "ready"
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        try:
            os.kill(int(ready.read_text()), 0)
            return
        except (OSError, ValueError):
            time.sleep(0.5)
    sys.exit(f"nothing ready after {args.timeout} s: is `make local` running?")


def stop_running(args):
    ready = Path(args.dir) / "ready"
    try:
        pid = int(ready.read_text())
        os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError):
        sys.exit("`make local` is not running")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            time.sleep(0.2)
        except OSError:
            return
    sys.exit(f"process {pid} did not stop within 30 s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5000, help="the emulator's port")
    parser.add_argument("--invoke-port", type=int, default=9000, help="cargo lambda watch's port")
    parser.add_argument("--dir", default=str(ROOT / ".strata-local"))
    parser.add_argument("--wait", action="store_true", help="wait until a running one is ready, then exit")
    parser.add_argument("--stop", action="store_true", help="stop a running one")
    parser.add_argument("--timeout", type=float, default=300, help="--wait gives up after this many seconds")
    args = parser.parse_args()
    if args.wait:
        wait(args)
    elif args.stop:
        stop_running(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
