//! CloudWatch reads: the fleet's alarms by name prefix.

use aws_sdk_cloudwatch as cloudwatch;

use crate::error::{Result, aws_error};
use crate::model::Alarm;

pub async fn alarms_with_prefix(client: &cloudwatch::Client, prefix: &str) -> Result<Vec<Alarm>> {
    let mut pages = client.describe_alarms().alarm_name_prefix(prefix).max_records(100).into_paginator().send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error("cloudwatch", "DescribeAlarms", e))?;
        out.extend(page.metric_alarms().iter().map(|a| Alarm {
            name: a.alarm_name().unwrap_or_default().to_owned(),
            state: a.state_value().map(|s| s.as_str().to_owned()).unwrap_or_default(),
            threshold: a.threshold(),
            alarm_actions: a.alarm_actions().to_vec(),
        }));
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}
