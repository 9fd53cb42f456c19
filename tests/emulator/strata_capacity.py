"""ELBv2 LCU capacity reservations as AWS runs them (moto answers DescribeCapacityReservation with a fixed stub
and has no ModifyCapacityReservation).

Per load balancer: the reserved minimum (CapacityUnits), its state (`pending` for `pending_seconds` after a change,
then `provisioned`), and DecreaseRequestsRemaining (a decrease or reset spends one). ModifyCapacityReservation
answers AWS's errors: CapacityReservationPending while a change is pending, CapacityUnitsLimitExceeded beyond the
Region's reserved-LCU quota (AWS's default is 0, so an account must first raise it), InsufficientCapacity when a
test says AWS has none, CapacityDecreaseRequestLimitExceeded when no decrease is left. A test configures it with
POST /_strata/capacity {"reserved_lcu_quota": 5000, "decreases_remaining": 2, "insufficient": false,
"pending_seconds": 0}; GET returns the configuration and every reservation.
"""

import threading
import time
from datetime import datetime, timezone

DEFAULTS = {"reserved_lcu_quota": 0, "decreases_remaining": 2, "insufficient": False, "pending_seconds": 0.0}


class Capacity:
    def __init__(self):
        self.lock = threading.Lock()
        self.settings = dict(DEFAULTS)
        self.reservations = {}  # ARN -> {"units", "pending_until", "decreases", "modified"}

    def configure(self, changes):
        with self.lock:
            for name, value in changes.items():
                if name not in DEFAULTS:
                    raise ValueError(f"not a capacity setting: {name}")
                self.settings[name] = value
            if "decreases_remaining" in changes:
                for reservation in self.reservations.values():
                    reservation["decreases"] = changes["decreases_remaining"]
            return self.snapshot_locked()

    def snapshot_locked(self):
        def plain(r):
            return {**r, "modified": r["modified"].isoformat() if r["modified"] else None}

        return {"settings": dict(self.settings), "reservations": {k: plain(v) for k, v in self.reservations.items()}}

    def snapshot(self):
        with self.lock:
            return self.snapshot_locked()

    def reservation(self, arn):
        return self.reservations.setdefault(
            arn, {"units": None, "pending_until": 0.0, "decreases": self.settings["decreases_remaining"], "modified": None}
        )

    def modify(self, arn, units, reset):
        from moto.elbv2.exceptions import ELBClientError

        with self.lock:
            r = self.reservation(arn)
            if time.time() < r["pending_until"]:
                raise ELBClientError("CapacityReservationPendingException", "There is a pending capacity reservation.")
            current = r["units"] or 0
            wanted = 0 if reset else units
            if wanted < current and r["decreases"] <= 0:
                raise ELBClientError(
                    "CapacityDecreaseRequestsLimitExceededException",
                    "You've exceeded the daily capacity decrease limit for this reservation.",
                )
            reserved_elsewhere = sum((v["units"] or 0) for k, v in self.reservations.items() if k != arn)
            if not reset and reserved_elsewhere + wanted > self.settings["reserved_lcu_quota"]:
                raise ELBClientError("CapacityUnitsLimitExceededException", "You've exceeded the capacity units limit.")
            if not reset and self.settings["insufficient"]:
                raise ELBClientError("InsufficientCapacityException", "There is insufficient capacity to reserve.")
            if wanted < current:
                r["decreases"] -= 1
            r["units"] = None if reset else units
            r["pending_until"] = time.time() + float(self.settings["pending_seconds"])
            r["modified"] = datetime.now(timezone.utc)
            return dict(r)

    def describe(self, arn):
        with self.lock:
            return dict(self.reservation(arn))


CAPACITY = Capacity()


def answer(reservation, zones):
    pending = time.time() < reservation["pending_until"]
    state = {"Code": "pending" if pending else "provisioned"}
    result = {
        "DecreaseRequestsRemaining": reservation["decreases"],
        "CapacityReservationState": [
            {"AvailabilityZone": zone, "State": state, "EffectiveCapacityUnits": 0.0 if pending else float(
                (reservation["units"] or 0) / max(len(zones), 1))}
            for zone in zones
        ],
    }
    if reservation["modified"] is not None:
        result["LastModifiedTime"] = reservation["modified"]
    if reservation["units"] is not None:
        result["MinimumLoadBalancerCapacity"] = {"CapacityUnits": reservation["units"]}
    return result


def patch_moto():
    from moto.core.responses import ActionResult
    from moto.elbv2.exceptions import LoadBalancerNotFoundError
    from moto.elbv2.responses import ELBV2Response

    def load_balancer(self):
        arn = self._get_param("LoadBalancerArn")
        balancer = self.elbv2_backend.load_balancers.get(arn)
        if balancer is None:
            raise LoadBalancerNotFoundError()
        return arn, [getattr(z, "zone_name", None) or z["ZoneName"] for z in balancer.availability_zones]

    def describe_capacity_reservation(self):
        arn, zones = load_balancer(self)
        return ActionResult(answer(CAPACITY.describe(arn), zones))

    def modify_capacity_reservation(self):
        from moto.elbv2.exceptions import ELBClientError

        arn, zones = load_balancer(self)
        reset = str(self._get_param("ResetCapacityReservation", "false")).lower() == "true"
        units = self._get_param("MinimumLoadBalancerCapacity.CapacityUnits")
        if reset == (units is not None):
            raise ELBClientError(
                "InvalidConfigurationRequestException",
                "Specify exactly one of MinimumLoadBalancerCapacity and ResetCapacityReservation.",
            )
        return ActionResult(answer(CAPACITY.modify(arn, None if reset else int(units), reset), zones))

    ELBV2Response.describe_capacity_reservation = describe_capacity_reservation
    ELBV2Response.modify_capacity_reservation = modify_capacity_reservation
