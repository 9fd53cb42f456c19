"""ELBv2 as AWS describes and checks it, where moto gives less (patches moto's backend, once, at start).

- DescribeLoadBalancerAttributes of an ALB answers AWS's full current set of keys with AWS's defaults (the ELBv2
  API reference, LoadBalancerAttribute: 22 keys for an ALB); moto answers 5 and has cross-zone `false`.
- DescribeTargetGroupAttributes of an HTTP(S) instance/ip target group likewise (TargetGroupAttribute: 14 keys).
- An attribute key AWS does not know for that resource is a ValidationError, as on AWS.
- A health check timeout must be smaller than the interval for HTTP(S) target groups (AWS's default timeout is 5 s),
  on create and on ModifyTargetGroup; moto accepts interval 5 with the default timeout 5.
"""

ALB_ATTRIBUTES = {
    # All load balancers.
    "deletion_protection.enabled": "false",
    "load_balancing.cross_zone.enabled": "true",  # an ALB's is always true
    # ALB and NLB.
    "access_logs.s3.enabled": "false",
    "access_logs.s3.bucket": "",
    "access_logs.s3.prefix": "",
    "ipv6.deny_all_igw_traffic": "false",  # true for an internal load balancer
    "zonal_shift.config.enabled": "false",
    # ALB only.
    "idle_timeout.timeout_seconds": "60",
    "client_keep_alive.seconds": "3600",
    "connection_logs.s3.enabled": "false",
    "connection_logs.s3.bucket": "",
    "connection_logs.s3.prefix": "",
    "health_check_logs.s3.enabled": "false",
    "health_check_logs.s3.bucket": "",
    "health_check_logs.s3.prefix": "",
    "routing.http.desync_mitigation_mode": "defensive",
    "routing.http.drop_invalid_header_fields.enabled": "false",
    "routing.http.preserve_host_header.enabled": "false",
    "routing.http.x_amzn_tls_version_and_cipher_suite.enabled": "false",
    "routing.http.x_amzn_tls_kx.enabled": "false",
    "routing.http.xff_client_port.enabled": "false",
    "routing.http.xff_header_processing.mode": "append",
    "routing.http2.enabled": "true",
    "waf.fail_open.enabled": "false",
}

# An ALB's HTTP(S) target group of instances or IPs.
HTTP_TARGET_GROUP_ATTRIBUTES = {
    "deregistration_delay.timeout_seconds": "300",
    "stickiness.enabled": "false",
    "stickiness.type": "lb_cookie",
    "stickiness.app_cookie.cookie_name": "",
    "stickiness.app_cookie.duration_seconds": "86400",
    "stickiness.lb_cookie.duration_seconds": "86400",
    "load_balancing.algorithm.type": "round_robin",
    "load_balancing.algorithm.anomaly_mitigation": "off",
    "load_balancing.cross_zone.enabled": "use_load_balancer_configuration",
    "slow_start.duration_seconds": "0",
    "target_group_health.dns_failover.minimum_healthy_targets.count": "1",
    "target_group_health.dns_failover.minimum_healthy_targets.percentage": "off",
    "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count": "1",
    "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage": "off",
}
# Keys of an HTTP2 / gRPC target group only (TargetGroupAttribute): known, but not in an HTTP1 group's answer.
HTTP_TARGET_GROUP_EXTRA_KEYS = {"waf.http2.traffic_inspection_behavior", "routing.http2.rst_stream_error_forwarding.enabled"}

DEFAULT_HTTP_HEALTH_CHECK_TIMEOUT = 5
DEFAULT_HEALTH_CHECK_INTERVAL = 30


def is_http_target_group(tg):
    return tg.protocol in ("HTTP", "HTTPS") and tg.target_type in ("instance", "ip")


def patch_moto():
    from moto.elbv2.exceptions import ELBClientError as RESTError
    from moto.elbv2.exceptions import ValidationError
    from moto.elbv2.models import ELBv2Backend, FakeLoadBalancer, FakeTargetGroup

    FakeLoadBalancer.VALID_ATTRS = set(FakeLoadBalancer.VALID_ATTRS) | set(ALB_ATTRIBUTES)
    lb_init = FakeLoadBalancer.__init__

    def load_balancer_init(self, *args, **kwargs):
        lb_init(self, *args, **kwargs)
        if self.type == "application":
            self.attrs = dict(ALB_ATTRIBUTES)
            self.attrs["ipv6.deny_all_igw_traffic"] = "true" if self.scheme == "internal" else "false"

    FakeLoadBalancer.__init__ = load_balancer_init

    tg_init = FakeTargetGroup.__init__

    def target_group_init(self, *args, **kwargs):
        tg_init(self, *args, **kwargs)
        if is_http_target_group(self):
            self.attributes = dict(HTTP_TARGET_GROUP_ATTRIBUTES)

    FakeTargetGroup.__init__ = target_group_init

    modify_lb_attributes = ELBv2Backend.modify_load_balancer_attributes

    def modify_load_balancer_attributes(self, arn, attrs):
        balancer = self.load_balancers.get(arn)
        if balancer is not None and balancer.type == "application":
            for key, value in attrs.items():
                if key not in ALB_ATTRIBUTES:
                    raise ValidationError(f"Load balancer attribute key '{key}' is not recognized")
                if key == "load_balancing.cross_zone.enabled" and str(value).lower() != "true":
                    raise RESTError(
                        "InvalidConfigurationRequest",
                        "Load balancer attribute 'load_balancing.cross_zone.enabled' cannot be changed for Application Load Balancers",
                    )
        return modify_lb_attributes(self, arn, attrs)

    ELBv2Backend.modify_load_balancer_attributes = modify_load_balancer_attributes

    modify_tg_attributes = ELBv2Backend.modify_target_group_attributes

    def modify_target_group_attributes(self, target_group_arn, attributes):
        tg = self.target_groups.get(target_group_arn)
        if tg is not None and is_http_target_group(tg):
            for key in attributes:
                if key not in HTTP_TARGET_GROUP_ATTRIBUTES and key not in HTTP_TARGET_GROUP_EXTRA_KEYS:
                    raise ValidationError(f"Target group attribute key '{key}' is not recognized")
        modify_tg_attributes(self, target_group_arn, {k: str(v) for k, v in attributes.items()})

    ELBv2Backend.modify_target_group_attributes = modify_target_group_attributes

    create_tg = ELBv2Backend.create_target_group

    def create_target_group(self, name, **kwargs):
        protocol = kwargs.get("protocol")
        if protocol in ("HTTP", "HTTPS") and kwargs.get("target_type", "instance") in ("instance", "ip", None):
            timeout = kwargs.get("healthcheck_timeout_seconds") or DEFAULT_HTTP_HEALTH_CHECK_TIMEOUT
            interval = kwargs.get("healthcheck_interval_seconds") or DEFAULT_HEALTH_CHECK_INTERVAL
            check_timeout(ValidationError, int(timeout), int(interval))
        return create_tg(self, name, **kwargs)

    ELBv2Backend.create_target_group = create_target_group

    modify_tg = ELBv2Backend.modify_target_group

    def modify_target_group(self, arn, *args, **kwargs):
        tg = self.target_groups.get(arn)
        if tg is not None and is_http_target_group(tg):
            names = ("health_check_proto", "health_check_port", "health_check_path", "health_check_interval", "health_check_timeout")
            given = dict(zip(names, args))
            given.update(kwargs)
            interval = given.get("health_check_interval") or tg.health_check_interval_seconds
            timeout = given.get("health_check_timeout") or tg.health_check_timeout_seconds
            check_timeout(ValidationError, int(timeout), int(interval))
        return modify_tg(self, arn, *args, **kwargs)

    ELBv2Backend.modify_target_group = modify_target_group


def check_timeout(error, timeout, interval):
    if timeout >= interval:
        raise error(f"Health check timeout '{timeout}' must be smaller than the interval '{interval}'")
