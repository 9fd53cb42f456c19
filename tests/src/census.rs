//! AWS state counted by ARN or id, per shard and kind: `s1 alb` → how many distinct ALB ARNs shard 1 has.
//! Ids differ from run to run, so two runs compare by these counts; a count above one is a duplicate (two ALBs,
//! listeners on one port, records, alarms or health checks for one shard), never hidden by a set of names.

use std::collections::{BTreeMap, BTreeSet};

use strata_core::aws::AwsClients;

/// "<shard> <kind>" → number of distinct ids. The shard is `s<k>` read from the resource's name, SetIdentifier
/// or CallerReference, or `-` for what belongs to no shard (then the kind names it).
pub type Census = BTreeMap<String, usize>;

/// The `s<k>` token of a name such as `web-s1`, `web-s1-tg`, `strata-web-s1-requests-high`, `strata:web:r:s1`.
pub fn shard_label(name: &str) -> Option<&str> {
    name.split(['-', ':']).find(|t| t.len() > 1 && t.starts_with('s') && t[1..].chars().all(|c| c.is_ascii_digit()))
}

#[derive(Default)]
struct Tally(BTreeMap<String, BTreeSet<String>>);

impl Tally {
    /// Counts `id` under `kind` of the shard named in `name` (or under `kind name` when no shard is named).
    fn add(&mut self, name: &str, kind: &str, id: &str) {
        let key = match shard_label(name) {
            Some(shard) => format!("{shard} {kind}"),
            None => format!("- {kind} {name}"),
        };
        self.0.entry(key).or_default().insert(id.to_owned());
    }
}

/// Every ALB, listener, TG, weighted or latency record, health check, alarm and ASG attachment in the region.
pub async fn census(aws: &AwsClients, zone: &str, asgs: &[&str]) -> Census {
    let mut tally = Tally::default();
    let lbs = aws.elbv2.describe_load_balancers().send().await.expect("DescribeLoadBalancers");
    for lb in lbs.load_balancers() {
        let (name, arn) = (lb.load_balancer_name().unwrap_or_default(), lb.load_balancer_arn().unwrap_or_default());
        tally.add(name, "alb", arn);
        let listeners = aws.elbv2.describe_listeners().load_balancer_arn(arn).send().await.expect("DescribeListeners");
        for l in listeners.listeners() {
            tally.add(
                name,
                &format!("listener:{}", l.port().unwrap_or_default()),
                l.listener_arn().unwrap_or_default(),
            );
        }
    }
    let tgs = aws.elbv2.describe_target_groups().send().await.expect("DescribeTargetGroups");
    let mut tg_names = BTreeMap::new();
    for tg in tgs.target_groups() {
        let (name, arn) = (tg.target_group_name().unwrap_or_default(), tg.target_group_arn().unwrap_or_default());
        tally.add(name, "tg", arn);
        tg_names.insert(arn.to_owned(), name.to_owned());
    }
    let records = aws.route53.list_resource_record_sets().hosted_zone_id(zone).send().await.expect("ListRecords");
    for r in records.resource_record_sets() {
        let Some(id) = r.set_identifier() else { continue };
        let kind = format!("record {} weight={:?}", r.r#type().as_str(), r.weight());
        tally.add(id, &kind, &format!("{} {} {id}", r.name(), r.r#type().as_str()));
    }
    let checks = aws.route53.list_health_checks().send().await.expect("ListHealthChecks");
    for check in checks.health_checks() {
        tally.add(check.caller_reference(), "health check", check.id());
    }
    let alarms = aws.cloudwatch.describe_alarms().send().await.expect("DescribeAlarms");
    for alarm in alarms.metric_alarms() {
        let name = alarm.alarm_name().unwrap_or_default();
        tally.add(name, "alarm", alarm.alarm_arn().unwrap_or(name));
    }
    for asg in asgs {
        let attached = aws
            .autoscaling
            .describe_load_balancer_target_groups()
            .auto_scaling_group_name(*asg)
            .send()
            .await
            .expect("DescribeLoadBalancerTargetGroups");
        for t in attached.load_balancer_target_groups() {
            let arn = t.load_balancer_target_group_arn().unwrap_or_default();
            tally.add(tg_names.get(arn).map_or("?", String::as_str), &format!("attached {asg}"), arn);
        }
    }
    tally.0.into_iter().map(|(k, ids)| (k, ids.len())).collect()
}

/// What differs between two censuses (`key: got N, want M`), and every duplicate of `got`.
pub fn differences(got: &Census, want: &Census) -> Vec<String> {
    let keys: BTreeSet<&String> = got.keys().chain(want.keys()).collect();
    let mut out: Vec<String> = keys
        .into_iter()
        .filter_map(|k| {
            let (g, w) = (got.get(k).copied().unwrap_or(0), want.get(k).copied().unwrap_or(0));
            (g != w).then(|| format!("{k}: got {g}, want {w}"))
        })
        .collect();
    out.extend(got.iter().filter(|(_, n)| **n > 1).map(|(k, n)| format!("duplicate {k}: {n}")));
    out
}
