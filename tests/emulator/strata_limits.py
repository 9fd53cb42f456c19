"""ELBv2's account limits as AWS answers them by default (DescribeAccountLimits), and settable by a test.

moto answers a fixed 20 application load balancers per region; AWS's default quota is 50 (Elastic Load Balancing
quotas, "Application Load Balancers per Region"), adjustable through Service Quotas. A test sets any limit with
POST /_strata/limits {"application-load-balancers": 3}, as an account whose quota differs would answer.
"""

import threading

AWS_DEFAULTS = {
    "application-load-balancers": 50,
    "target-groups": 3000,
    "targets-per-application-load-balancer": 1000,
    "listeners-per-application-load-balancer": 50,
    "rules-per-application-load-balancer": 100,
    "network-load-balancers": 50,
    "targets-per-network-load-balancer": 3000,
    "listeners-per-network-load-balancer": 50,
    "certificates-per-application-load-balancer": 25,
}


class Limits:
    def __init__(self):
        self.lock = threading.Lock()
        self.values = dict(AWS_DEFAULTS)

    def configure(self, changes):
        with self.lock:
            for name, value in changes.items():
                if name not in AWS_DEFAULTS or not isinstance(value, int) or value < 0:
                    raise ValueError(f"not an ELBv2 limit: {name}={value!r}")
                self.values[name] = value
            return dict(self.values)

    def snapshot(self):
        with self.lock:
            return dict(self.values)


LIMITS = Limits()


def patch_moto():
    from moto.core.responses import ActionResult
    from moto.elbv2.responses import ELBV2Response

    def describe_account_limits(self):
        # AWS answers the Max as a string (a number, e.g. "50").
        limits = [{"Name": name, "Max": str(value)} for name, value in LIMITS.snapshot().items()]
        return ActionResult({"Limits": limits})

    ELBV2Response.describe_account_limits = describe_account_limits
