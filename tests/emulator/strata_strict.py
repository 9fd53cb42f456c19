"""Where AWS is stricter than moto on the paths that matter after a fault (both measured differences, DESIGN.md §6).

1. A transient AWS has: DeleteTargetGroup answers ResourceInUse ("Target group '<arn>' is currently in use by a
   listener or a rule", HTTP 400) for a while after the target group's load balancer was deleted (whether its
   listeners were deleted first or with it), as they go away in the background. moto deletes it at once. The window is `STRATA_TG_IN_USE_SECONDS`
   (default 2 s), changed at run time by POST /_strata/transients {"target_group_in_use_seconds": n}; a change
   applies to load balancers already deleted too (0 ends every window).
2. Route 53 change batches are conditional: a CREATE of a record that exists and a DELETE of one that does not
   fail the whole batch with InvalidChangeBatch ("Tried to create resource record set [name='...', type='A',
   set-identifier='...'] but it already exists" / "... but it was not found"); moto accepts both. And a DELETE
   removes the one record named by (name, type, SetIdentifier), where moto removes every record with that
   SetIdentifier whatever its name or type.
3. CreateListener is idempotent (the same port and settings give the existing listener) and refuses another
   listener on a port in use (DuplicateListener); moto makes a second listener on the same port.
4. AWS WAF: a resource has one web ACL (AssociateWebACL replaces the one it had; moto lists the resource under
   both), a load balancer that does not exist is WAFNonexistentItemException for AssociateWebACL and
   GetWebACLForResource (moto accepts any resource ARN, and answers for a deleted one as if it still were); and
   AssociateWebACL and GetWebACLForResource refuse a load balancer made while `web_acl_unavailable_seconds` was
   N, for its first N seconds, with WAFUnavailableEntityException, as AWS documents for a resource just created
   (POST /_strata/transients; 0 ends every window).
"""

import os
import threading
import time

TG_IN_USE = {"seconds": float(os.environ.get("STRATA_TG_IN_USE_SECONDS", "2"))}
# AssociateWebACL answers WAFUnavailableEntityException for a load balancer this young ("If you've just created a
# resource ... wait a few minutes"); 0 by default (the window is not known), set by the tests.
WEB_ACL_UNAVAILABLE = {"seconds": 0.0}
# Load balancer ARN -> (monotonic time it was created, the window then set).
_CREATED_AT = {}
# Target group ARN -> monotonic time its last load balancer was deleted.
_RELEASED_AT = {}
_LOCK = threading.Lock()


def configure(spec):
    if "target_group_in_use_seconds" in spec:
        TG_IN_USE["seconds"] = float(spec["target_group_in_use_seconds"])
    if "web_acl_unavailable_seconds" in spec:
        WEB_ACL_UNAVAILABLE["seconds"] = float(spec["web_acl_unavailable_seconds"])
    return snapshot()


def snapshot():
    return {
        "target_group_in_use_seconds": TG_IN_USE["seconds"],
        "web_acl_unavailable_seconds": WEB_ACL_UNAVAILABLE["seconds"],
    }


def patch_moto():
    patch_target_group_in_use()
    patch_route53_conditional_changes()
    patch_create_listener_idempotent()
    patch_web_acl_associations()


def patch_create_listener_idempotent():
    """CreateListener is idempotent on AWS: a listener on that port with the same settings is returned, one with
    other settings is a DuplicateListener. moto checks the port against its ARN-keyed dict, so it never finds
    one and a retried create (after a lost answer) makes a second listener on the same port."""
    from moto.elbv2.exceptions import DuplicateListenerError
    from moto.elbv2.models import ELBv2Backend, FakeAction

    original = ELBv2Backend.create_listener
    lock = threading.Lock()

    def create_listener(self, load_balancer_arn, protocol, port, ssl_policy, certificate, actions, *args, **kwargs):
        with lock:
            balancer = self.load_balancers.get(load_balancer_arn)
            for listener in (balancer.listeners.values() if balancer else []):
                if str(listener.port) != str(port):
                    continue
                same = (
                    listener.protocol == (protocol or "").upper()
                    and listener.ssl_policy == ssl_policy
                    and listener.certificate == certificate
                    and [a.data for a in listener.default_actions] == [FakeAction(a).data for a in actions]
                )
                if same:
                    return listener
                raise DuplicateListenerError()
            return original(self, load_balancer_arn, protocol, port, ssl_policy, certificate, actions, *args, **kwargs)

    ELBv2Backend.create_listener = create_listener


def patch_target_group_in_use():
    from moto.elbv2.exceptions import ResourceInUseError
    from moto.elbv2.models import ELBv2Backend

    original_delete_lb = ELBv2Backend.delete_load_balancer
    original_delete_listener = ELBv2Backend.delete_listener
    original_delete_tg = ELBv2Backend.delete_target_group
    # Load balancer ARN -> TGs its listeners forwarded to, those deleted before it included.
    used_by = {}

    def remember(backend, load_balancer_arn, listener):
        actions = list(listener.default_actions) + [a for r in listener.rules.values() for a in r.actions]
        with _LOCK:
            for action in actions:
                used_by.setdefault(load_balancer_arn, set()).update(
                    backend._get_target_group_arns_from(action_data=action.data)
                )

    def delete_listener(self, listener_arn):
        for load_balancer in self.load_balancers.values():
            if listener_arn in load_balancer.listeners:
                remember(self, load_balancer.arn, load_balancer.listeners[listener_arn])
        return original_delete_listener(self, listener_arn)

    def delete_load_balancer(self, arn):
        load_balancer = self.load_balancers.get(arn)
        for listener in (load_balancer.listeners.values() if load_balancer else []):
            remember(self, arn, listener)
        original_delete_lb(self, arn)
        with _LOCK:
            for tg_arn in used_by.pop(arn, set()) if load_balancer else set():
                _RELEASED_AT[tg_arn] = time.monotonic()

    def delete_target_group(self, target_group_arn):
        with _LOCK:
            released = _RELEASED_AT.get(target_group_arn)
        if released is not None and time.monotonic() < released + TG_IN_USE["seconds"]:
            if target_group_arn in self.target_groups:
                raise ResourceInUseError(
                    f"Target group '{target_group_arn}' is currently in use by a listener or a rule"
                )
        return original_delete_tg(self, target_group_arn)

    ELBv2Backend.delete_load_balancer = delete_load_balancer
    ELBv2Backend.delete_listener = delete_listener
    ELBv2Backend.delete_target_group = delete_target_group


def _key(name, rtype, set_identifier):
    return (name.rstrip(".").lower(), rtype, set_identifier)


def patch_route53_conditional_changes():
    from moto.route53.exceptions import Route53ClientError
    from moto.route53.models import Route53Backend

    original = Route53Backend.change_resource_record_sets
    lock = threading.Lock()

    def change_resource_record_sets(self, zoneid, change_list):
        with lock:
            zone = self.get_hosted_zone(zoneid)
            present = {_key(r.name, r.type, r.set_identifier) for r in zone.rrsets}
            problems = []
            for change in change_list:
                record = change["ResourceRecordSet"]
                key = _key(record["Name"], record.get("Type"), record.get("SetIdentifier"))
                shown = f"[name='{key[0]}.', type='{key[1]}'" + (f", set-identifier='{key[2]}']" if key[2] else "]")
                if change["Action"] == "CREATE":
                    if key in present:
                        problems.append(f"Tried to create resource record set {shown} but it already exists")
                    present.add(key)
                elif change["Action"] == "DELETE":
                    if key not in present:
                        problems.append(f"Tried to delete resource record set {shown} but it was not found")
                    present.discard(key)
                else:
                    present.add(key)
            if problems:
                raise Route53ClientError("InvalidChangeBatch", "[" + ", ".join(problems) + "]")
            # In order, one change at a time, so that a DELETE with a SetIdentifier removes only its own record.
            for change in change_list:
                record = change["ResourceRecordSet"]
                if change["Action"] == "DELETE" and record.get("SetIdentifier"):
                    key = _key(record["Name"], record.get("Type"), record["SetIdentifier"])
                    zone.rrsets = [r for r in zone.rrsets if _key(r.name, r.type, r.set_identifier) != key]
                    zone.rr_changes.append(dict(change))
                else:
                    original(self, zoneid, [change])

    Route53Backend.change_resource_record_sets = change_resource_record_sets


def patch_web_acl_associations():
    from moto.elbv2.models import ELBv2Backend, elbv2_backends
    from moto.wafv2.exceptions import WAFNonexistentItemException, WAFv2ClientError
    from moto.wafv2.models import WAFV2Backend

    create_load_balancer = ELBv2Backend.create_load_balancer

    def created(self, *args, **kwargs):
        balancer = create_load_balancer(self, *args, **kwargs)
        with _LOCK:
            _CREATED_AT.setdefault(balancer.arn, (time.monotonic(), WEB_ACL_UNAVAILABLE["seconds"]))
        return balancer

    ELBv2Backend.create_load_balancer = created

    class WAFUnavailableEntityException(WAFv2ClientError):
        def __init__(self):
            super().__init__("WAFUnavailableEntityException",
                             "AWS WAF couldn't retrieve the resource that you requested. Retry your request.")

    def existing_load_balancer(self, resource_arn):
        if ":loadbalancer/" not in resource_arn:
            return True
        return resource_arn in elbv2_backends[self.account_id][self.region_name].load_balancers

    associate, get_for = WAFV2Backend.associate_web_acl, WAFV2Backend.get_web_acl_for_resource

    def associate_web_acl(self, web_acl_arn, resource_arn):
        if not existing_load_balancer(self, resource_arn):
            raise WAFNonexistentItemException()
        if too_new(resource_arn):
            raise WAFUnavailableEntityException()
        if web_acl_arn in self.wacls:
            for web_acl in self.wacls.values():
                if resource_arn in web_acl.associated_resources:
                    web_acl.associated_resources.remove(resource_arn)
        return associate(self, web_acl_arn, resource_arn)

    def too_new(resource_arn):
        with _LOCK:
            created, window = _CREATED_AT.get(resource_arn, (float("-inf"), 0.0))
        return WEB_ACL_UNAVAILABLE["seconds"] > 0 and time.monotonic() - created < window

    def get_web_acl_for_resource(self, resource_arn):
        if not existing_load_balancer(self, resource_arn):
            raise WAFNonexistentItemException()
        if too_new(resource_arn):
            raise WAFUnavailableEntityException()
        return get_for(self, resource_arn)

    WAFV2Backend.associate_web_acl = associate_web_acl
    WAFV2Backend.get_web_acl_for_resource = get_web_acl_for_resource
