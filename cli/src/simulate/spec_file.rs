//! The fleet a simulation runs: the custom resource's properties from a YAML or JSON file (the properties alone,
//! a CloudFormation request with `ResourceProperties`, or a template with one `Custom::StrataFleet`), parsed by
//! the provisioner's own parser. CloudFormation functions (`!Ref VpcId`) cannot be resolved offline: where a
//! property does not change what the simulation decides, it gets a placeholder; elsewhere it is an error.

use serde_json::{Map, Value};
use strata_core::spec::FleetSpec;

/// The example fleet (infra/examples/fleet-us-east-1.yaml): the spec when none is given.
pub const EXAMPLE_FLEET: &str = include_str!("../../../infra/examples/fleet-us-east-1.yaml");

/// Properties that decide nothing the simulation models: a function there is replaced by this value.
const PLACEHOLDERS: &[(&str, &str)] = &[
    ("ServiceToken", "arn:aws:lambda:us-east-1:000000000000:function:strata-provisioner"),
    ("HostedZoneId", "Z00000000000000000000"),
    ("VpcId", "vpc-00000000"),
    ("SubnetIds", "subnet-a,subnet-b"),
    ("SecurityGroupIds", "sg-00000000"),
    ("CertificateArn", "arn:aws:acm:us-east-1:000000000000:certificate/simulated"),
    ("ScalerFunctionArn", "arn:aws:lambda:us-east-1:000000000000:function:strata-alb-scaler"),
];

pub fn load(name: &str, text: &str) -> Result<FleetSpec, String> {
    let document: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| format!("{name}: not YAML or JSON: {e}"))?;
    let document = json_of(document);
    let properties = properties_of(document).map_err(|e| format!("{name}: {e}"))?;
    let properties = resolve(properties).map_err(|e| format!("{name}: {e}"))?;
    FleetSpec::from_properties(&properties).map_err(|e| format!("{name}: {e}"))
}

/// YAML as JSON, a short-form function (`!Ref X`) as its long form (`{"Ref": "X"}`).
fn json_of(value: serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(n).unwrap_or(Value::Null),
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(json_of).collect()),
        Y::Mapping(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k.as_str().map_or_else(|| format!("{k:?}"), str::to_owned), json_of(v)))
                .collect(),
        ),
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let key = if name == "Ref" || name == "Condition" { name.to_owned() } else { format!("Fn::{name}") };
            Value::Object(Map::from_iter([(key, json_of(tagged.value))]))
        }
    }
}

fn properties_of(document: Value) -> Result<Value, String> {
    let Value::Object(mut map) = document else {
        return Err("expected the fleet's properties (a mapping)".into());
    };
    if let Some(properties) = map.remove("ResourceProperties") {
        return Ok(properties);
    }
    let Some(Value::Object(resources)) = map.remove("Resources") else {
        return Ok(Value::Object(map));
    };
    let fleets: Vec<(String, Value)> = resources
        .into_iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some("Custom::StrataFleet"))
        .collect();
    match <[_; 1]>::try_from(fleets) {
        Ok([(_, resource)]) => Ok(resource.get("Properties").cloned().unwrap_or(Value::Null)),
        Err(fleets) if fleets.is_empty() => Err("the template has no resource of type Custom::StrataFleet".into()),
        Err(fleets) => {
            let names: Vec<String> = fleets.into_iter().map(|(name, _)| name).collect();
            Err(format!("the template has several Custom::StrataFleet resources ({}): give one", names.join(", ")))
        }
    }
}

fn is_function(value: &Value) -> bool {
    value.as_object().is_some_and(|m| m.len() == 1 && m.keys().all(|k| k == "Ref" || k.starts_with("Fn::")))
}

fn resolve(properties: Value) -> Result<Value, String> {
    let Value::Object(map) = properties else { return Ok(properties) };
    let mut out = Map::new();
    for (key, value) in map {
        if !is_function(&value) {
            out.insert(key, value);
            continue;
        }
        let Some((_, placeholder)) = PLACEHOLDERS.iter().find(|(k, _)| *k == key) else {
            return Err(format!(
                "property {key} is a CloudFormation function ({value}), which cannot be resolved offline: give its value"
            ));
        };
        let placeholder = if key.ends_with("Ids") {
            Value::Array(placeholder.split(',').map(|s| Value::String(s.to_owned())).collect())
        } else {
            Value::String((*placeholder).to_owned())
        };
        out.insert(key, placeholder);
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_template_is_read_with_placeholders_for_its_references() {
        let spec = load("example", EXAMPLE_FLEET).unwrap();
        assert_eq!(spec.fleet.as_str(), "web");
        assert_eq!(spec.limits.requests_per_second_per_shard, 50_000);
        assert_eq!(spec.vpc_id, "vpc-00000000");
    }

    #[test]
    fn a_function_where_it_decides_something_is_refused_by_name() {
        let err = load("f.yaml", "FleetName: !Ref Name\nDomain: a.example.com\n").unwrap_err();
        assert!(err.starts_with("f.yaml: property FleetName is a CloudFormation function"), "{err}");
    }

    #[test]
    fn a_bad_property_is_named() {
        let text = r#"{"FleetName": "web", "Domain": "api.example.com", "HostedZoneId": "Z1", "VpcId": "vpc-1",
            "SubnetIds": ["subnet-a"], "SecurityGroupIds": ["sg-1"], "CertificateArn": "arn:aws:acm:us-east-1:1:certificate/x",
            "AutoScalingGroupNames": ["a"], "Limits": {"MaxShards": "many"}}"#;
        let err = load("fleet.json", text).unwrap_err();
        assert!(err.contains("Limits.MaxShards"), "{err}");
    }
}
