//! AWS state as tests assert it: sorted names, ARNs, weights and attachments, read with the real SDK.

use strata_core::aws::AwsClients;

fn sorted<T: Ord>(mut items: Vec<T>) -> Vec<T> {
    items.sort();
    items
}

pub async fn load_balancer_arns(aws: &AwsClients) -> Vec<String> {
    let lbs = aws.elbv2.describe_load_balancers().send().await.expect("DescribeLoadBalancers");
    sorted(lbs.load_balancers().iter().filter_map(|l| l.load_balancer_arn().map(str::to_owned)).collect())
}

pub async fn load_balancer_names(aws: &AwsClients) -> Vec<String> {
    let lbs = aws.elbv2.describe_load_balancers().send().await.expect("DescribeLoadBalancers");
    sorted(lbs.load_balancers().iter().filter_map(|l| l.load_balancer_name().map(str::to_owned)).collect())
}

/// (SetIdentifier, weight) of every weighted record in the zone, Strata's and foreign.
pub async fn weights(aws: &AwsClients, zone: &str) -> Vec<(String, i64)> {
    let records =
        aws.route53.list_resource_record_sets().hosted_zone_id(zone).send().await.expect("ListResourceRecordSets");
    sorted(
        records
            .resource_record_sets()
            .iter()
            .filter_map(|r| Some((r.set_identifier()?.to_owned(), r.weight()?)))
            .collect(),
    )
}

pub async fn alarm_names(aws: &AwsClients) -> Vec<String> {
    let alarms = aws.cloudwatch.describe_alarms().send().await.expect("DescribeAlarms");
    sorted(alarms.metric_alarms().iter().filter_map(|a| a.alarm_name().map(str::to_owned)).collect())
}

/// The target groups an ASG is attached to.
pub async fn attached(aws: &AwsClients, asg: &str) -> Vec<String> {
    let out = aws
        .autoscaling
        .describe_load_balancer_target_groups()
        .auto_scaling_group_name(asg)
        .send()
        .await
        .expect("DescribeLoadBalancerTargetGroups");
    sorted(
        out.load_balancer_target_groups()
            .iter()
            .filter_map(|t| t.load_balancer_target_group_arn().map(str::to_owned))
            .collect(),
    )
}

/// Everything of one fleet in a region as AWS holds it, found by Strata's exact names and SetIdentifiers
/// (resource ids included, so a re-made resource does not compare equal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetSnapshot {
    pub load_balancers: Vec<(String, Vec<(String, String)>)>,
    pub target_groups: Vec<(String, Vec<(String, String)>)>,
    pub listeners: Vec<String>,
    pub alarms: Vec<String>,
    pub health_checks: Vec<String>,
    /// (SetIdentifier, type, weight) of the fleet's weighted and latency records.
    pub records: Vec<(String, String, Option<i64>)>,
    /// (ASG, target group ARN) pairs for the given ASGs.
    pub attachments: Vec<(String, String)>,
}

impl FleetSnapshot {
    pub fn is_empty(&self) -> bool {
        self.load_balancers.is_empty()
            && self.target_groups.is_empty()
            && self.alarms.is_empty()
            && self.health_checks.is_empty()
            && self.records.is_empty()
    }
}

async fn elb_tags(aws: &AwsClients, arn: &str) -> Vec<(String, String)> {
    let out = aws.elbv2.describe_tags().resource_arns(arn).send().await.expect("DescribeTags");
    sorted(
        out.tag_descriptions()
            .iter()
            .flat_map(|d| d.tags())
            .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
            .collect(),
    )
}

pub async fn fleet_snapshot(aws: &AwsClients, zone: &str, fleet: &str, asgs: &[&str]) -> FleetSnapshot {
    use strata_core::names::{
        FleetName, parse_alarm_name, parse_health_check_caller_reference, parse_load_balancer_name,
        parse_target_group_name,
    };
    let name = FleetName::parse(fleet).expect("a fleet name");
    let mut snapshot = FleetSnapshot {
        load_balancers: Vec::new(),
        target_groups: Vec::new(),
        listeners: Vec::new(),
        alarms: Vec::new(),
        health_checks: Vec::new(),
        records: Vec::new(),
        attachments: Vec::new(),
    };
    let lbs = aws.elbv2.describe_load_balancers().send().await.expect("DescribeLoadBalancers");
    for lb in lbs.load_balancers() {
        let (Some(lb_name), Some(arn)) = (lb.load_balancer_name(), lb.load_balancer_arn()) else { continue };
        if parse_load_balancer_name(&name, lb_name).is_none() {
            continue;
        }
        snapshot.load_balancers.push((arn.to_owned(), elb_tags(aws, arn).await));
        let listeners = aws.elbv2.describe_listeners().load_balancer_arn(arn).send().await.expect("DescribeListeners");
        snapshot.listeners.extend(listeners.listeners().iter().filter_map(|l| l.listener_arn().map(str::to_owned)));
    }
    let tgs = aws.elbv2.describe_target_groups().send().await.expect("DescribeTargetGroups");
    for tg in tgs.target_groups() {
        let (Some(tg_name), Some(arn)) = (tg.target_group_name(), tg.target_group_arn()) else { continue };
        if parse_target_group_name(&name, tg_name).is_some() {
            snapshot.target_groups.push((arn.to_owned(), elb_tags(aws, arn).await));
        }
    }
    snapshot.alarms = alarm_names(aws).await.into_iter().filter(|a| parse_alarm_name(&name, a).is_some()).collect();
    let checks = aws.route53.list_health_checks().send().await.expect("ListHealthChecks");
    snapshot.health_checks = sorted(
        checks
            .health_checks()
            .iter()
            .filter(|c| parse_health_check_caller_reference(&name, c.caller_reference()).is_some())
            .map(|c| c.id().to_owned())
            .collect(),
    );
    let records = aws.route53.list_resource_record_sets().hosted_zone_id(zone).send().await.expect("records");
    let prefix = format!("strata:{fleet}:");
    snapshot.records = sorted(
        records
            .resource_record_sets()
            .iter()
            .filter_map(|r| {
                let id = r.set_identifier()?;
                let rest = id.strip_prefix(&prefix)?;
                // strata:<fleet>:<region> or strata:<fleet>:<region>:s<k>; a longer fleet name has another prefix.
                (!rest.contains("::")).then(|| (id.to_owned(), r.r#type().as_str().to_owned(), r.weight()))
            })
            .collect(),
    );
    for asg in asgs {
        for tg in attached(aws, asg).await {
            if snapshot.target_groups.iter().any(|(arn, _)| *arn == tg) {
                snapshot.attachments.push(((*asg).to_owned(), tg));
            }
        }
    }
    snapshot.load_balancers.sort();
    snapshot.target_groups.sort();
    snapshot.listeners.sort();
    snapshot
}

/// The AWS calls in `calls` that change something (anything but reads and the S3 answer to CloudFormation).
pub fn mutating(calls: &[String]) -> Vec<String> {
    calls
        .iter()
        .filter(|c| {
            // Route 53's ListTagsForResources is a POST to the collection; ChangeTagsForResource names an id.
            !c.ends_with("POST /2013-04-01/tags/healthcheck")
                && !c.contains(":Describe")
                && !c.contains(":List")
                && !c.contains(":Get")
                && !c.contains("GET ")
                && !c.starts_with("s3:")
        })
        .cloned()
        .collect()
}
