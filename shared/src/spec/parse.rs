//! `FleetSpec::from_properties`: CloudFormation's `ResourceProperties` to a spec, or one error that names
//! every bad field. serde stops at the first bad value, so each one is noted and replaced (by a placeholder
//! where the property is required, by nothing where it has a default) and the properties are read again;
//! garde's rules and the checks across fields then run on what was read.

use serde_json::{Map, Value, json};
use serde_path_to_error::Segment;

use super::{FleetSpec, checks, schema};
use crate::error::{FieldError, FieldErrors, StrataError};

impl FleetSpec {
    /// Parses CloudFormation `ResourceProperties` (scalars as strings or as JSON values).
    pub fn from_properties(props: &Value) -> Result<Self, StrataError> {
        if !props.is_object() {
            let errors = vec![FieldError::new("ResourceProperties", "must be an object")];
            return Err(StrataError::InvalidSpec(FieldErrors(errors)));
        }
        let mut props = props.clone();
        tidy(&mut props);
        let mut errors = unknown_and_missing(schema::json_schema(), &mut props, "");
        drop_nulls(&mut props);
        let spec = read(&mut props, &mut errors);
        if let Some(spec) = &spec {
            let noted: Vec<String> = errors.iter().map(|e| e.field.clone()).collect();
            let mut found = rule_errors(spec);
            found.extend(checks::across_fields(spec));
            errors.extend(found.into_iter().filter(|e| !noted.contains(&e.field)));
        }
        match spec {
            Some(spec) if errors.is_empty() => Ok(spec.normalized()),
            _ => Err(StrataError::InvalidSpec(FieldErrors(errors))),
        }
    }

    /// The domain as Route 53 names it, the zone id without the `/hostedzone/` of some APIs.
    fn normalized(mut self) -> Self {
        self.domain = self.domain.trim_end_matches('.').to_ascii_lowercase();
        self.hosted_zone_id = self.hosted_zone_id.trim_start_matches("/hostedzone/").to_owned();
        self
    }
}

/// What CloudFormation and template authors send that means the same value or "left out": surrounding
/// whitespace on text, and an `AutoScalingGroupTag` with no key and no value (no tag selector).
fn tidy(value: &mut Value) {
    match value {
        Value::String(text) if text.trim().len() != text.len() => *text = text.trim().to_owned(),
        Value::Array(items) => items.iter_mut().for_each(tidy),
        Value::Object(map) => {
            map.values_mut().for_each(tidy);
            let empty = |v: &Value| v.as_object().is_some_and(|o| o.values().all(Value::is_null));
            if map.get("AutoScalingGroupTag").is_some_and(empty) {
                map.remove("AutoScalingGroupTag");
            }
        }
        _ => {}
    }
}

/// A known property given as `null` is left out (its default); run after unknown ones were named.
fn drop_nulls(value: &mut Value) {
    if let Value::Object(map) = value {
        map.retain(|_, v| !v.is_null());
        map.values_mut().for_each(drop_nulls);
    }
}

/// serde's message, cut so that one huge value cannot crowd the others out of the answer (4 KiB in all).
fn problem(message: String) -> String {
    const MAX: usize = 200;
    if message.len() <= MAX {
        return message;
    }
    let cut = (0..=MAX).rev().find(|i| message.is_char_boundary(*i)).unwrap_or(0);
    format!("{}… ({} bytes)", &message[..cut], message.len())
}

/// A valid value of each required property, put in place of a bad one so that the rest can still be read.
fn placeholder(path: &str) -> Option<Value> {
    Some(match path {
        "FleetName" => json!("placeholder"),
        "Domain" => json!("placeholder.example"),
        "HostedZoneId" => json!("Z0"),
        "VpcId" => json!("vpc-0"),
        "SubnetIds" => json!(["subnet-0", "subnet-1"]),
        "CertificateArn" => json!("arn:aws:acm:::certificate/0"),
        "AutoScalingGroupTag.Key" | "AutoScalingGroupTag.Value" => json!("placeholder"),
        _ => return None,
    })
}

/// Unknown properties (removed) and missing required ones (given a placeholder), at every level.
fn unknown_and_missing(object_schema: &Value, props: &mut Value, prefix: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let Some(map) = props.as_object_mut() else { return errors };
    let known = schema::properties(object_schema).cloned().unwrap_or_default();
    let path = |name: &str| if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") };
    let unknown: Vec<String> = map.keys().filter(|k| !known.contains_key(*k)).cloned().collect();
    for name in unknown {
        map.remove(&name);
        errors.push(FieldError::new(path(&name), "is not a known property"));
    }
    for name in schema::required(object_schema) {
        if map.get(name).is_none_or(Value::is_null) {
            errors.push(FieldError::new(path(name), "is required"));
            map.insert(name.to_owned(), placeholder(&path(name)).unwrap_or(Value::Null));
        }
    }
    for (name, property) in &known {
        if let Some(nested) = map.get_mut(name).filter(|v| v.is_object()) {
            errors.extend(unknown_and_missing(property, nested, &path(name)));
        }
    }
    errors
}

/// serde's reading, noting and replacing each bad value until the rest reads.
fn read(props: &mut Value, errors: &mut Vec<FieldError>) -> Option<FleetSpec> {
    loop {
        let error = match serde_path_to_error::deserialize::<_, FleetSpec>(&*props) {
            Ok(spec) => return Some(spec),
            Err(error) => error,
        };
        let keys: Vec<String> = error
            .path()
            .iter()
            .map_while(|s| match s {
                Segment::Map { key } => Some(key.clone()),
                _ => None,
            })
            .collect();
        let field = keys.join(".");
        if keys.is_empty() || errors.iter().any(|e| e.field == field) {
            errors.push(FieldError::new(
                if field.is_empty() { "ResourceProperties".into() } else { field },
                problem(error.inner().to_string()),
            ));
            return None;
        }
        errors.push(FieldError::new(field.clone(), problem(error.inner().to_string())));
        let (last, parents) = keys.split_last().expect("not empty");
        let parent = parents.iter().try_fold(&mut *props, |v, k| v.get_mut(k)).and_then(Value::as_object_mut)?;
        replace(parent, last, placeholder(&field));
    }
}

fn replace(parent: &mut Map<String, Value>, key: &str, placeholder: Option<Value>) {
    match placeholder {
        Some(value) => parent.insert(key.to_owned(), value),
        None => parent.remove(key),
    };
}

/// garde's rules (ranges, lengths, patterns), named by property path.
fn rule_errors(spec: &FleetSpec) -> Vec<FieldError> {
    let Err(report) = garde::Validate::validate(spec) else { return Vec::new() };
    report.iter().map(|(path, error)| FieldError::new(property_path(&path.to_string()), error.message())).collect()
}

/// `limits.max_shards` → `Limits.MaxShards`, `subnet_ids[1]` → `SubnetIds[1]`.
fn property_path(garde_path: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in garde_path.chars() {
        match c {
            '_' => upper = true,
            '.' | '[' => {
                out.push(c);
                upper = true;
            }
            c if upper => {
                out.extend(c.to_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}
