use proptest::prelude::*;

use super::*;
use crate::model::AutoScalingGroup;
use crate::plan::scale::tests::{fleet, shard};

fn asgs(sizes: &[u32]) -> Vec<AutoScalingGroup> {
    sizes
        .iter()
        .enumerate()
        .map(|(i, size)| AutoScalingGroup {
            name: format!("web-{i}"),
            target_group_arns: vec!["arn:foreign-tg".into()],
            instance_count: *size,
            tags: Default::default(),
        })
        .collect()
}

/// The ASGs as Auto Scaling holds them after the changes.
fn applied(observed: &mut ObservedFleet, plan: &AttachmentPlan) {
    for change in &plan.changes {
        let asg = observed.asgs.iter_mut().find(|a| a.name == change.asg).unwrap();
        asg.target_group_arns.retain(|t| !change.detach.contains(t));
        asg.target_group_arns.extend(change.attach.iter().cloned());
    }
}

fn fleet_tgs(asg: &AutoScalingGroup) -> Vec<&String> {
    asg.target_group_arns.iter().filter(|t| t.starts_with("arn:tg/")).collect()
}

proptest! {
    /// Mirror puts every ASG on every serving shard, partition on exactly one (room permitting); a foreign TG is
    /// never detached; carrying out the plan leaves nothing to change.
    #[test]
    fn attachments_converge(shards in 1..6u8, sizes in prop::collection::vec(1..400u32, 1..8), partition in any::<bool>()) {
        let mode = if partition { ShardingMode::Partition } else { ShardingMode::Mirror };
        let mut observed = fleet((0..shards).map(|i| shard(i, 10, false, None)).collect());
        observed.asgs = asgs(&sizes);
        let plan = plan_attachments(&observed, mode, 1000);
        applied(&mut observed, &plan);
        prop_assert_eq!(plan_attachments(&observed, mode, 1000).changes, vec![]);
        for asg in &observed.asgs {
            prop_assert!(asg.target_group_arns.contains(&"arn:foreign-tg".to_owned()));
            let on = fleet_tgs(asg).len();
            match mode {
                ShardingMode::Mirror => prop_assert_eq!(on, usize::from(shards)),
                ShardingMode::Partition => prop_assert!(on == 1 || plan.unplaced.contains(&asg.name)),
            }
        }
    }
}

#[test]
fn a_draining_shard_keeps_its_asgs_and_gets_no_new_one() {
    let mut observed = fleet(vec![shard(0, 255, false, None), shard(1, 0, false, Some("2026-01-01T00:00:00Z"))]);
    observed.asgs = asgs(&[10, 10]);
    observed.asgs[0].target_group_arns.push("arn:tg/s1".into());
    let plan = plan_attachments(&observed, ShardingMode::Mirror, 1000);
    assert!(plan.changes.iter().all(|c| c.detach.is_empty() && !c.attach.contains(&"arn:tg/s1".to_owned())));
}

#[test]
fn partition_reports_an_asg_no_shard_has_room_for() {
    let mut observed = fleet(vec![shard(0, 255, false, None)]);
    observed.asgs = asgs(&[600, 600]);
    let plan = plan_attachments(&observed, ShardingMode::Partition, 1000);
    assert_eq!(plan.unplaced, vec!["web-1".to_owned()]);
}
