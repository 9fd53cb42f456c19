//! Auto Scaling reads: the fleet's ASGs and what they are attached to, in one paginated walk.

use autoscaling::types::Filter;
use aws_sdk_autoscaling as autoscaling;

use crate::error::{Result, aws_error};
use crate::model::{AutoScalingGroup, Tags};
use crate::spec::AsgSelector;

/// DescribeAutoScalingGroups takes at most 100 names a call.
const NAMES_PER_CALL: usize = 100;

/// The fleet's ASGs: the named ones and those carrying the selector's tag (the union), by name.
pub async fn fleet_asgs(client: &autoscaling::Client, selector: &AsgSelector) -> Result<Vec<AutoScalingGroup>> {
    let mut found = Vec::new();
    for names in selector.names.chunks(NAMES_PER_CALL) {
        found.extend(describe(client, Some(names.to_vec()), None).await?);
    }
    if let Some((key, value)) = &selector.tag {
        let filters = vec![
            Filter::builder().name("tag-key").values(key).build(),
            Filter::builder().name("tag-value").values(value).build(),
        ];
        let tagged = describe(client, None, Some(filters)).await?;
        // The two filters match key and value independently: keep only ASGs with that exact pair.
        found.extend(tagged.into_iter().filter(|a| a.tags.get(key) == Some(value)));
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found.dedup_by(|a, b| a.name == b.name);
    Ok(found)
}

/// ASGs by name (missing names are simply absent from the answer).
pub async fn asgs_named(client: &autoscaling::Client, names: &[String]) -> Result<Vec<AutoScalingGroup>> {
    let mut out = Vec::new();
    for chunk in names.chunks(NAMES_PER_CALL) {
        out.extend(describe(client, Some(chunk.to_vec()), None).await?);
    }
    Ok(out)
}

/// Every ASG in the region (100 a page).
pub async fn all_asgs(client: &autoscaling::Client) -> Result<Vec<AutoScalingGroup>> {
    describe(client, None, None).await
}

async fn describe(
    client: &autoscaling::Client,
    names: Option<Vec<String>>,
    filters: Option<Vec<Filter>>,
) -> Result<Vec<AutoScalingGroup>> {
    let mut pages = client
        .describe_auto_scaling_groups()
        .set_auto_scaling_group_names(names)
        .set_filters(filters)
        .max_records(100)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error("autoscaling", "DescribeAutoScalingGroups", e))?;
        for group in page.auto_scaling_groups() {
            let Some(name) = group.auto_scaling_group_name() else { continue };
            let tags: Tags = group
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
                .collect();
            out.push(AutoScalingGroup {
                name: name.to_owned(),
                target_group_arns: group.target_group_arns().to_vec(),
                instance_count: group.instances().len() as u32,
                tags,
            });
        }
    }
    Ok(out)
}
