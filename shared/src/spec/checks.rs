//! The checks serde's types and garde's rules do not express: a DNS name's shape and rules between fields.

use std::collections::BTreeSet;

use super::FleetSpec;
use crate::error::FieldError;

/// The shape `checks::domain` accepts, for the JSON Schema (ECMA-262).
pub const DOMAIN_PATTERN: &str =
    r"^(?=.{1,200}\.?$)([A-Za-z0-9][A-Za-z0-9-]{0,62}\.)+[A-Za-z0-9][A-Za-z0-9-]{0,62}\.?$";

pub fn domain(name: &str, _: &()) -> garde::Result {
    let name = name.trim_end_matches('.');
    let labels: Vec<&str> = name.split('.').collect();
    let ok = name.len() <= 200
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok { Ok(()) } else { Err(garde::Error::new("is not a DNS name such as api.example.com")) }
}

/// What JSON Schema cannot say: one field against another, and no id twice in a list.
/// The characters AWS allows in a tag key or value (ELBv2, CloudWatch and Route 53 alike).
pub fn tag_text(value: &str, _: &()) -> garde::Result {
    match value
        .chars()
        .find(|c| !(c.is_alphanumeric() || (c.is_whitespace() && !c.is_control()) || "_.:/=+-@".contains(*c)))
    {
        Some(c) => Err(garde::Error::new(format!("{c:?} is not allowed in a tag (letters, digits, spaces, _.:/=+-@)"))),
        None => Ok(()),
    }
}

pub fn across_fields(spec: &FleetSpec) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let limits = &spec.limits;
    if limits.min_shards > limits.max_shards {
        errors.push(FieldError::new(
            "Limits.MinShards",
            format!("{} is above MaxShards {}", limits.min_shards, limits.max_shards),
        ));
    }
    if limits.scale_in_percent >= limits.scale_out_percent {
        errors.push(FieldError::new("Limits.ScaleInPercent", "must be below ScaleOutPercent, or the fleet would flap"));
    }
    for (field, items) in [
        ("SubnetIds", &spec.subnet_ids),
        ("SecurityGroupIds", &spec.security_group_ids),
        ("AutoScalingGroupNames", &spec.auto_scaling_group_names),
    ] {
        if items.iter().collect::<BTreeSet<_>>().len() != items.len() {
            errors.push(FieldError::new(field, "lists the same name twice"));
        }
    }
    let mut keys = BTreeSet::new();
    for (i, tag) in spec.tags.iter().enumerate() {
        let reserved = ["aws:", "strata:"].into_iter().find(|p| tag.key.to_ascii_lowercase().starts_with(p));
        if let Some(prefix) = reserved {
            errors.push(FieldError::new(format!("Tags[{i}].Key"), format!("{prefix}… keys are reserved")));
        }
        if !keys.insert(tag.key.as_str()) {
            errors.push(FieldError::new(format!("Tags[{i}].Key"), "the same key twice"));
        }
    }
    if spec.auto_scaling_group_names.is_empty() && spec.auto_scaling_group_tag.is_none() {
        errors.push(FieldError::new(
            "AutoScalingGroupNames",
            "name the fleet's ASGs here and/or select them with AutoScalingGroupTag",
        ));
    }
    errors
}
