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
