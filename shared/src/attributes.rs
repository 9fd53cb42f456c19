//! Which ALB and target group attributes to send, and in which batches.
//!
//! AWS takes at most 20 attributes per ModifyLoadBalancerAttributes / ModifyTargetGroupAttributes call (the ELBv2
//! API model), and DescribeLoadBalancerAttributes answers more than 20 for an ALB (24 keys in the current API
//! reference). So only keys whose value differs from the resource's current one are sent (for a resource just
//! made: from AWS's documented defaults), in batches of at most 20, a family of keys (`access_logs.*`,
//! `stickiness.*`) always in one batch, since AWS checks a family together (a bucket with `enabled=true`).

use crate::model::Tags;

/// AWS's maximum of attributes in one Modify*Attributes call.
pub const MAX_PER_CALL: usize = 20;

/// ALB attributes a new shard does not copy from a serving shard: deletion protection would keep scale-in
/// from ever removing the shard; `ipv6.deny_all_igw_traffic` follows the scheme, which the clone already has.
pub const NOT_CLONED_LOAD_BALANCER_KEYS: &[&str] = &["deletion_protection.enabled", "ipv6.deny_all_igw_traffic"];

/// An ALB's attributes as AWS makes it (ELBv2 API reference, LoadBalancerAttribute; internet-facing).
/// `load_balancing.cross_zone.enabled` is always `true` on an ALB and cannot be changed.
pub const ALB_DEFAULTS: &[(&str, &str)] = &[
    ("access_logs.s3.bucket", ""),
    ("access_logs.s3.enabled", "false"),
    ("access_logs.s3.prefix", ""),
    ("client_keep_alive.seconds", "3600"),
    ("connection_logs.s3.bucket", ""),
    ("connection_logs.s3.enabled", "false"),
    ("connection_logs.s3.prefix", ""),
    ("deletion_protection.enabled", "false"),
    ("health_check_logs.s3.bucket", ""),
    ("health_check_logs.s3.enabled", "false"),
    ("health_check_logs.s3.prefix", ""),
    ("idle_timeout.timeout_seconds", "60"),
    ("load_balancing.cross_zone.enabled", "true"),
    ("routing.http.desync_mitigation_mode", "defensive"),
    ("routing.http.drop_invalid_header_fields.enabled", "false"),
    ("routing.http.preserve_host_header.enabled", "false"),
    ("routing.http.x_amzn_tls_kx.enabled", "false"),
    ("routing.http.x_amzn_tls_version_and_cipher_suite.enabled", "false"),
    ("routing.http.xff_client_port.enabled", "false"),
    ("routing.http.xff_header_processing.mode", "append"),
    ("routing.http2.enabled", "true"),
    ("waf.fail_open.enabled", "false"),
    ("zonal_shift.config.enabled", "false"),
];

/// An HTTP instance target group's attributes as AWS makes it (TargetGroupAttribute).
pub const TARGET_GROUP_DEFAULTS: &[(&str, &str)] = &[
    ("deregistration_delay.timeout_seconds", "300"),
    ("load_balancing.algorithm.anomaly_mitigation", "off"),
    ("load_balancing.algorithm.type", "round_robin"),
    ("load_balancing.cross_zone.enabled", "use_load_balancer_configuration"),
    ("slow_start.duration_seconds", "0"),
    ("stickiness.app_cookie.cookie_name", ""),
    ("stickiness.app_cookie.duration_seconds", "86400"),
    ("stickiness.enabled", "false"),
    ("stickiness.lb_cookie.duration_seconds", "86400"),
    ("stickiness.type", "lb_cookie"),
    ("target_group_health.dns_failover.minimum_healthy_targets.count", "1"),
    ("target_group_health.dns_failover.minimum_healthy_targets.percentage", "off"),
    ("target_group_health.unhealthy_state_routing.minimum_healthy_targets.count", "1"),
    ("target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage", "off"),
];

pub fn defaults(table: &[(&str, &str)]) -> Tags {
    table.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// The desired attributes whose value differs from `current` (what the resource has now).
pub fn changes(current: &Tags, desired: &Tags) -> Tags {
    desired.iter().filter(|(k, v)| current.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// The first dotted part of a key: AWS checks `access_logs.s3.enabled` with `access_logs.s3.bucket`, and
/// `stickiness.enabled` with `stickiness.type`, so a family is never split between two calls.
fn family(key: &str) -> &str {
    key.split('.').next().unwrap_or(key)
}

/// `changes` in calls of at most [`MAX_PER_CALL`] attributes, each family whole in one call.
pub fn batches(changes: &Tags) -> Vec<Vec<(String, String)>> {
    let mut families: Vec<Vec<(String, String)>> = Vec::new();
    for (key, value) in changes {
        match families.last_mut() {
            Some(last) if family(&last[0].0) == family(key) => last.push((key.clone(), value.clone())),
            _ => families.push(vec![(key.clone(), value.clone())]),
        }
    }
    let mut out: Vec<Vec<(String, String)>> = Vec::new();
    for members in families {
        for part in members.chunks(MAX_PER_CALL) {
            match out.last_mut() {
                Some(batch) if batch.len() + part.len() <= MAX_PER_CALL => batch.extend_from_slice(part),
                _ => out.push(part.to_vec()),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        defaults(pairs)
    }

    #[test]
    fn only_what_differs_is_sent() {
        let current = defaults(ALB_DEFAULTS);
        let mut desired = current.clone();
        desired.insert("routing.http.drop_invalid_header_fields.enabled".into(), "true".into());
        let sent = changes(&current, &desired);
        assert_eq!(sent, tags(&[("routing.http.drop_invalid_header_fields.enabled", "true")]));
        assert!(changes(&desired, &desired).is_empty(), "a second pass sends nothing");
    }

    #[test]
    fn batches_hold_at_most_twenty_and_keep_families_whole() {
        let mut all: Tags = (0..30).map(|i| (format!("k{i:02}.x"), "v".to_owned())).collect();
        all.insert("access_logs.s3.bucket".into(), "logs".into());
        all.insert("access_logs.s3.enabled".into(), "true".into());
        all.insert("access_logs.s3.prefix".into(), "p".into());
        let calls = batches(&all);
        assert!(calls.iter().all(|c| c.len() <= MAX_PER_CALL), "{calls:?}");
        assert_eq!(calls.iter().map(Vec::len).sum::<usize>(), 33, "every attribute is sent once");
        let with_logs: Vec<_> = calls.iter().filter(|c| c.iter().any(|(k, _)| k.starts_with("access_logs."))).collect();
        assert_eq!(with_logs.len(), 1, "a family goes in one call");
        assert_eq!(with_logs[0].iter().filter(|(k, _)| k.starts_with("access_logs.")).count(), 3);
    }

    #[test]
    fn an_alb_full_attribute_set_needs_two_calls() {
        let full = defaults(ALB_DEFAULTS);
        assert!(full.len() > MAX_PER_CALL);
        assert_eq!(batches(&full).len(), 2);
    }
}
