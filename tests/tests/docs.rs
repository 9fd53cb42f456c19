//! The operator docs stay true to the code: the JSON Schema and the property reference are generated from the
//! spec type (`shared/src/spec`, and must be committed as generated), the schema and the parser agree on the
//! edges of every property, every example template and sample event validates, and every environment variable,
//! metric and alarm the code uses is documented.
//!
//! `STRATA_BLESS=1 cargo test -p strata-tests --test docs` rewrites the generated files.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use strata_core::spec::schema::{self, flatten};
use strata_core::spec::{FleetSpec, reference};
use strata_tests::workspace_root;

const BLESS: &str = "STRATA_BLESS=1 cargo test -p strata-tests --test docs";
const SCHEMA_PATH: &str = "docs/strata-fleet.schema.json";
const CONFIGURATION_PATH: &str = "docs/configuration.md";
const BEGIN: &str = "<!-- BEGIN GENERATED PROPERTY REFERENCE: edit shared/src/spec, then run STRATA_BLESS=1 cargo test -p strata-tests --test docs -->\n";
const END: &str = "<!-- END GENERATED PROPERTY REFERENCE -->";

fn read(relative: &str) -> String {
    let path = workspace_root().join(relative);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn blessing() -> bool {
    std::env::var("STRATA_BLESS").is_ok_and(|v| v == "1")
}

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&read(SCHEMA_PATH)).expect("the committed schema is JSON");
    jsonschema::validator_for(&schema).expect("the committed schema is a valid JSON Schema")
}

fn schema_errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator.iter_errors(instance).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

/// A complete, valid set of properties (the one the core's own tests use).
fn valid_properties() -> Value {
    json!({
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:strata-provisioner",
        "FleetName": "web",
        "Domain": "api.example.com",
        "HostedZoneId": "Z0123456789ABC",
        "VpcId": "vpc-1",
        "SubnetIds": ["subnet-a", "subnet-b", "subnet-c"],
        "SecurityGroupIds": ["sg-1"],
        "CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc",
        "AutoScalingGroupNames": ["web-a", "web-b"]
    })
}

fn set(props: &mut Value, path: &str, value: Value) {
    let (parent, key) = match path.rsplit_once('.') {
        Some((parent, key)) => {
            if !props[parent].is_object() {
                props[parent] = json!({});
            }
            (&mut props[parent], key)
        }
        None => (props, path),
    };
    parent[key] = value;
}

/// Sibling settings a property's extreme values need to pass the cross-field checks.
fn companions(path: &str, props: &mut Value) {
    match path {
        "Limits.MinShards" => set(props, "Limits.MaxShards", json!(50)),
        "Limits.ScaleInPercent" => set(props, "Limits.ScaleOutPercent", json!(100)),
        "Limits.ScaleOutPercent" => set(props, "Limits.ScaleInPercent", json!(1)),
        "AutoScalingGroupTag.Key" => set(props, "AutoScalingGroupTag.Value", json!("web")),
        "AutoScalingGroupTag.Value" => set(props, "AutoScalingGroupTag.Key", json!("team")),
        _ => {}
    }
}

#[test]
fn generated_schema_and_reference_are_committed_as_generated() {
    let root = workspace_root();
    let schema_text = schema::json_schema_text();
    let committed = fs::read_to_string(root.join(SCHEMA_PATH)).unwrap_or_default();
    let configuration = fs::read_to_string(root.join(CONFIGURATION_PATH)).unwrap_or_default();
    let (Some(begin), Some(end)) = (configuration.find(BEGIN), configuration.find(END)) else {
        panic!("{CONFIGURATION_PATH} must hold the generated-reference markers:\n{BEGIN}{END}");
    };
    let start = begin + BEGIN.len();
    let reference = reference::markdown_reference();
    if blessing() {
        fs::create_dir_all(root.join("docs")).unwrap();
        fs::write(root.join(SCHEMA_PATH), &schema_text).unwrap();
        let rewritten = format!("{}{reference}{}", &configuration[..start], &configuration[end..]);
        fs::write(root.join(CONFIGURATION_PATH), rewritten).unwrap();
        return;
    }
    assert!(
        committed == schema_text,
        "{SCHEMA_PATH} differs from what shared/src/spec generates: run `{BLESS}` and commit the result"
    );
    assert!(
        configuration[start..end] == reference,
        "the property reference in {CONFIGURATION_PATH} differs from what shared/src/spec/schema.rs generates: \
         run `{BLESS}` and commit the result"
    );
}

/// Text properties' shapes, which a schema pattern cannot be turned back into examples of: values that must be
/// accepted, then values that must be refused (JSON).
const TEXT_EXAMPLES: &[(&str, &[&str], &[&str])] = &[
    ("ServiceToken", &["\"arn:aws:lambda:us-east-1:123456789012:function:strata-provisioner\""], &[]),
    ("ServiceTimeout", &["\"900\""], &[]),
    (
        "FleetName",
        &["\"web\"", "\"a-20-char-fleet-name\"", "\"0\""],
        &["\"Web\"", "\"web_1\"", "\"-web\"", "\"web-\"", "\"a-21-char-fleet-names\"", "\"internal-api\""],
    ),
    (
        "Domain",
        &["\"api.example.com\"", "\"API.Example.com.\""],
        &["\"localhost\"", "\"-api.example.com\"", "\"api..example.com\"", "\"api example.com\""],
    ),
    ("HostedZoneId", &["\"Z0123456789ABC\"", "\"/hostedzone/Z0123456789ABC\""], &["\"\""]),
    ("Region", &["\"us-east-1\""], &[]),
    ("VpcId", &["\"vpc-0a1b2c3d\""], &["\"subnet-0a1\"", "\"vpc-\""]),
    (
        "CertificateArn",
        &["\"arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-1234567890ab\""],
        &["\"arn:aws:iam::123456789012:server-certificate/web\"", "\"0f1e2d3c\""],
    ),
    ("SslPolicy", &["\"ELBSecurityPolicy-TLS13-1-3-2021-06\""], &[]),
    ("HealthCheckPath", &["\"/ready\"", "\"/\""], &["\"health\""]),
    ("AutoScalingGroupTag.Key", &["\"strata:fleet\""], &[]),
    ("AutoScalingGroupTag.Value", &["\"web\""], &[]),
    (
        "ScalerFunctionArn",
        &["\"arn:aws:lambda:us-east-1:123456789012:function:strata-alb-scaler\""],
        &["\"strata-alb-scaler\"", "\"arn:aws:sns:us-east-1:123456789012:topic\""],
    ),
];

fn types(p: &Value) -> Vec<&str> {
    match p.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).filter(|t| *t != "null").collect(),
        _ => Vec::new(),
    }
}

/// The words of a choice (an `enum`, or a `oneOf` of `const`s).
fn choices(p: &Value) -> Vec<String> {
    let listed = p.get("enum").and_then(Value::as_array).cloned().unwrap_or_default();
    let consts = p.get("oneOf").and_then(Value::as_array).into_iter().flatten().filter_map(|f| f.get("const").cloned());
    listed.into_iter().chain(consts).filter_map(|v| v.as_str().map(str::to_owned)).collect()
}

/// Values at the edges of a property as its schema describes it: (accepted, refused).
fn edges(path: &str, p: &Value) -> (Vec<Value>, Vec<Value>) {
    let words = choices(p);
    let types = types(p);
    let (mut valid, mut invalid) = if !words.is_empty() {
        let mut invalid = vec![json!("bogus"), json!(["x"])];
        invalid.extend(words.iter().filter(|w| w.to_uppercase() != **w).map(|w| json!(w.to_uppercase())));
        (words.iter().map(|w| json!(w)).collect(), invalid)
    } else if types.contains(&"integer") {
        let (min, max) = (p["minimum"].as_u64().unwrap(), p["maximum"].as_u64().unwrap());
        let valid =
            vec![json!(min), json!(max), json!(min.to_string()), json!(max.to_string()), json!((min + max) / 2)];
        let mut invalid = vec![json!(max + 1), json!((max + 1).to_string()), json!("many"), json!(1.5), json!(-1)];
        if min > 0 {
            invalid.extend([json!(min - 1), json!((min - 1).to_string())]);
        }
        (valid, invalid)
    } else if types.contains(&"boolean") {
        let valid = vec![json!(true), json!(false), json!("true"), json!("False"), json!("FALSE")];
        (valid, vec![json!("yes"), json!(1), json!("")])
    } else if types.contains(&"array") && p.pointer("/items/properties").is_some() {
        // A list of objects (Tags): up to maxItems of them, each with its required fields.
        let most = p.get("maxItems").and_then(Value::as_u64).expect("a list of objects has a maxItems");
        let item = |i: u64| json!({"Key": format!("k{i}"), "Value": "v"});
        let valid = vec![json!([]), json!((0..most).map(item).collect::<Vec<_>>()), json!([{"Key": "only-a-key"}])];
        let invalid = vec![
            json!((0..=most).map(item).collect::<Vec<_>>()),
            json!([{"Value": "no key"}]),
            json!([{"Key": ""}]),
            json!([{"Key": "k", "Colour": "blue"}]),
            json!(["k=v"]),
            json!("k=v"),
        ];
        (valid, invalid)
    } else if types.contains(&"array") {
        let pattern = p.pointer("/items/pattern").and_then(Value::as_str).unwrap_or("^.");
        let prefix = pattern.trim_start_matches('^').trim_end_matches('.');
        let least = p.get("minItems").and_then(Value::as_u64).unwrap_or(0);
        let items: Vec<String> = (0..least.max(1) + 1).map(|i| format!("{prefix}id{i}")).collect();
        let valid = vec![json!(items), json!(items.join(", ")), json!(items.join(","))];
        let mut invalid = vec![json!(42), json!([format!("{prefix}a"), format!("{prefix}a")]), json!([prefix])];
        if !prefix.is_empty() {
            invalid.push(json!(["x-1", "x-2"]));
        }
        if least > 1 {
            invalid.push(json!([format!("{prefix}a")]));
        }
        (valid, invalid)
    } else if types.contains(&"object") {
        let mut full = Map::new();
        for (name, nested) in schema::properties(p).into_iter().flatten() {
            if let Some(v) = edges(&format!("{path}.{name}"), nested).0.into_iter().next() {
                full.insert(name.clone(), v);
            }
        }
        let mut valid = vec![Value::Object(full)];
        if schema::required(p).is_empty() {
            valid.push(json!({}));
        }
        (valid, vec![json!("yes"), json!({"Bogus": "1"})])
    } else if types.contains(&"string") {
        (Vec::new(), vec![json!(""), json!(["x"]), json!(true)])
    } else {
        (Vec::new(), Vec::new())
    };
    let examples = TEXT_EXAMPLES.iter().find(|(name, _, _)| *name == path);
    if let Some((_, good, bad)) = examples {
        let parse = |text: &&str| serde_json::from_str::<Value>(text).unwrap();
        valid.extend(good.iter().map(parse));
        invalid.extend(bad.iter().map(parse));
    }
    (valid, invalid)
}

#[test]
fn the_schema_and_the_parser_agree_on_the_edges_of_every_property() {
    let validator = validator();
    let schema = schema::json_schema();
    for (path, p) in flatten(schema) {
        let (valid, invalid) = edges(&path, p);
        assert!(!valid.is_empty(), "{path}: no accepted value to try (add it to TEXT_EXAMPLES)");
        for value in valid {
            let mut props = valid_properties();
            companions(&path, &mut props);
            set(&mut props, &path, value.clone());
            let errors = schema_errors(&validator, &props);
            assert!(errors.is_empty(), "{path} = {value}: the parser should accept it, the schema says {errors:?}");
            let parsed = FleetSpec::from_properties(&props);
            assert!(parsed.is_ok(), "{path} = {value}: {:?}", parsed.err().map(|e| e.to_string()));
        }
        for value in invalid {
            let mut props = valid_properties();
            companions(&path, &mut props);
            set(&mut props, &path, value.clone());
            assert!(
                !validator.is_valid(&props),
                "{path} = {value}: the parser should refuse it, the schema accepts it"
            );
            let Err(strata_core::StrataError::InvalidSpec(errors)) = FleetSpec::from_properties(&props) else {
                panic!("{path} = {value}: accepted");
            };
            let top = path.split('.').next().unwrap();
            assert!(
                errors.fields().iter().any(|f| f.starts_with(top)),
                "{path} = {value}: the error names {:?}",
                errors.fields()
            );
        }
    }
}

#[test]
fn bad_specs_are_refused_by_the_schema_and_by_the_parser() {
    let validator = validator();
    let mut cases: Vec<(&str, Value)> = Vec::new();
    let mut unknown = valid_properties();
    unknown["Colour"] = json!("blue");
    cases.push(("an unknown property", unknown));
    let mut nested_unknown = valid_properties();
    nested_unknown["Limits"] = json!({"MaxShard": "4"});
    cases.push(("an unknown nested property (a typo)", nested_unknown));
    for max in [json!(250), json!("250")] {
        let mut props = valid_properties();
        props["Limits"] = json!({"MaxShards": max});
        cases.push(("MaxShards 250 (over the 100 shards a fleet may have)", props));
    }
    let mut public = valid_properties();
    public["Scheme"] = json!("public");
    cases.push(("Scheme public", public));
    let mut nameless = valid_properties();
    nameless.as_object_mut().unwrap().remove("FleetName");
    cases.push(("no FleetName", nameless));
    let mut one_subnet = valid_properties();
    one_subnet["SubnetIds"] = json!("subnet-a");
    cases.push(("one subnet", one_subnet));
    let mut no_asgs = valid_properties();
    no_asgs["AutoScalingGroupNames"] = json!([]);
    cases.push(("no ASG selected", no_asgs));
    let mut half_tag = valid_properties();
    half_tag["AutoScalingGroupTag"] = json!({"Key": "strata:fleet"});
    cases.push(("a tag selector without a value", half_tag));
    for (what, props) in &cases {
        assert!(!validator.is_valid(props), "the schema accepts {what}: {props}");
        assert!(FleetSpec::from_properties(props).is_err(), "the parser accepts {what}: {props}");
    }
    // Checked by the parser only (JSON Schema cannot compare two fields or split a string): the schema's
    // description says so.
    let mut parser_only = Vec::new();
    let mut min_over_max = valid_properties();
    min_over_max["Limits"] = json!({"MinShards": "5", "MaxShards": "4"});
    parser_only.push(min_over_max);
    let mut flapping = valid_properties();
    flapping["Limits"] = json!({"ScaleInPercent": "80", "ScaleOutPercent": "80"});
    parser_only.push(flapping);
    let mut twice = valid_properties();
    twice["SubnetIds"] = json!("subnet-a, subnet-a");
    parser_only.push(twice);
    for props in &parser_only {
        assert!(FleetSpec::from_properties(props).is_err(), "{props}");
    }
    let description = schema::json_schema()["description"].as_str().unwrap().to_owned();
    assert!(description.contains("MinShards <= Limits.MaxShards") && description.contains("ScaleInPercent <"));
}

/// A CloudFormation intrinsic (`!Ref X`, `{"Fn::ImportValue": ...}`): its value is known only at deploy time.
fn placeholder(path: &str) -> Value {
    let schema = schema::json_schema();
    let find = |path: &str| flatten(schema).into_iter().find(|(p, _)| p == path).map(|(_, s)| s.clone());
    if let Some((list, index)) = path.strip_suffix(']').and_then(|p| p.rsplit_once('[')) {
        let pattern = find(list).and_then(|p| p.pointer("/items/pattern").and_then(Value::as_str).map(str::to_owned));
        let prefix = pattern.as_deref().unwrap_or("^").trim_start_matches('^').trim_end_matches('.').to_owned();
        return json!(format!("{prefix}intrinsic-{index}"));
    }
    match find(path) {
        Some(p) => edges(path, &p).0.into_iter().next().unwrap_or_else(|| json!("intrinsic")),
        None => json!("intrinsic"),
    }
}

fn is_intrinsic(map: &serde_yaml::Mapping) -> bool {
    map.len() == 1
        && map.keys().next().and_then(serde_yaml::Value::as_str).is_some_and(|k| k == "Ref" || k.starts_with("Fn::"))
}

/// YAML to JSON, with every intrinsic replaced by a value valid at its place.
fn to_json(value: &serde_yaml::Value, path: &str) -> Value {
    match value {
        serde_yaml::Value::Null => Value::Null,
        serde_yaml::Value::Bool(b) => json!(b),
        serde_yaml::Value::Number(n) => serde_json::from_str(&n.to_string()).unwrap_or_else(|_| json!(n.to_string())),
        serde_yaml::Value::String(s) => json!(s),
        serde_yaml::Value::Tagged(_) => placeholder(path),
        serde_yaml::Value::Mapping(map) if is_intrinsic(map) => placeholder(path),
        serde_yaml::Value::Sequence(items) => {
            Value::Array(items.iter().enumerate().map(|(i, v)| to_json(v, &format!("{path}[{i}]"))).collect())
        }
        serde_yaml::Value::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = k.as_str().map(str::to_owned).unwrap_or_else(|| format!("{k:?}"));
                let child = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                out.insert(key, to_json(v, &child));
            }
            Value::Object(out)
        }
    }
}

fn example_templates() -> Vec<PathBuf> {
    let dir = workspace_root().join("infra/examples");
    let mut out: Vec<PathBuf> = fs::read_dir(&dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    out.retain(|p| p.extension().is_some_and(|e| e == "yaml"));
    out.sort();
    out
}

/// Every `Custom::StrataFleet` resource's properties in a template.
fn fleets_of_template(path: &Path) -> Vec<(String, Value)> {
    let text = fs::read_to_string(path).unwrap();
    let template: serde_yaml::Value =
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: not YAML: {e}", path.display()));
    let Some(resources) = template.get("Resources").and_then(serde_yaml::Value::as_mapping) else { return Vec::new() };
    resources
        .iter()
        .filter(|(_, r)| r.get("Type").and_then(serde_yaml::Value::as_str) == Some("Custom::StrataFleet"))
        .map(|(name, r)| {
            let name = format!("{} {}", path.display(), name.as_str().unwrap_or("?"));
            let props = r.get("Properties").map(|p| to_json(p, "")).unwrap_or(Value::Null);
            (name, props)
        })
        .collect()
}

fn sample_event_properties() -> Vec<(String, Value)> {
    let dir = workspace_root().join("events/provisioner");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let event: Value = serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
        for key in ["ResourceProperties", "OldResourceProperties"] {
            if let Some(props) = event.get(key) {
                out.push((format!("{} {key}", file.display()), props.clone()));
            }
        }
    }
    out
}

#[test]
fn known_cloudformation_properties_are_accepted() {
    let mut props = valid_properties();
    props["ServiceTimeout"] = json!("900");
    assert!(FleetSpec::from_properties(&props).is_ok(), "{:?}", FleetSpec::from_properties(&props).err());
    assert!(validator().is_valid(&props));
}

/// The hand-written parts of the configuration guide (outside the generated reference) never call a property
/// the parser accepts and ignores (CloudFormation's `ServiceToken`, `ServiceTimeout`) refused or unknown.
#[test]
fn the_guide_does_not_call_an_ignored_property_refused() {
    let configuration = read(CONFIGURATION_PATH);
    let (before, rest) = configuration.split_once(BEGIN).expect("the generated-reference markers");
    let after = rest.split_once(END).map(|(_, after)| after).unwrap_or_default();
    let schema = schema::json_schema();
    // Accepted whatever they hold: no type of their own.
    let ignored: Vec<String> = flatten(schema)
        .into_iter()
        .filter(|(_, p)| choices(p).is_empty() && types(p).is_empty())
        .map(|(path, _)| path)
        .collect();
    assert!(ignored.iter().any(|n| n == "ServiceTimeout"), "ServiceTimeout is accepted and ignored: {ignored:?}");
    let mut wrong = Vec::new();
    // A paragraph or a list item: what a reader takes as one statement.
    for statement in [before, after].iter().flat_map(|part| part.split("\n\n")).flat_map(|p| p.split("\n- ")) {
        let lower = statement.to_lowercase();
        for name in &ignored {
            if statement.contains(&format!("`{name}`")) && (lower.contains("refuse") || lower.contains("unknown")) {
                wrong.push(format!("{name}: {}", statement.trim()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{CONFIGURATION_PATH} calls an accepted, ignored property refused:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_example_template_and_sample_event_validates() {
    let validator = validator();
    let templates = example_templates();
    let mut documents: Vec<(String, Value)> = templates.iter().flat_map(|t| fleets_of_template(t)).collect();
    documents.extend(sample_event_properties());
    assert!(!documents.is_empty(), "no Custom::StrataFleet in infra/examples/*.yaml and no events/provisioner/*.json");
    for template in &templates {
        assert!(
            documents.iter().any(|(name, _)| name.starts_with(&template.display().to_string())),
            "{} has no Custom::StrataFleet resource",
            template.display()
        );
    }
    let mut failures = Vec::new();
    for (name, props) in &documents {
        let errors = schema_errors(&validator, props);
        if !errors.is_empty() {
            failures.push(format!("{name}: the schema refuses it: {errors:?}"));
        }
        if let Err(err) = FleetSpec::from_properties(props) {
            failures.push(format!("{name}: the provisioner would answer FAILED: {err}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The settings module reads every variable (its own test holds `VARIABLES` to what it reads).
#[test]
fn every_environment_variable_the_code_reads_is_documented() {
    let configuration = read(CONFIGURATION_PATH);
    for variable in strata_core::settings::VARIABLES {
        assert!(configuration.contains(&format!("`{variable}`")), "{CONFIGURATION_PATH} does not document {variable}");
    }
}

#[test]
fn every_metric_and_alarm_is_in_the_runbook() {
    let operations = read("docs/operations.md");
    let root = workspace_root();
    let mut metrics = BTreeSet::new();
    for file in ["shared/src/scale.rs", "shared/src/rebalance.rs", "shared/src/register.rs"] {
        let source = fs::read_to_string(root.join(file)).unwrap();
        for call in ["metrics.count(\"", "metrics.put(\""] {
            for (at, _) in source.match_indices(call) {
                let rest = &source[at + call.len()..];
                metrics.insert(rest[..rest.find('"').unwrap()].to_owned());
            }
        }
        if source.contains("&format!(\"Weight.{}\"") {
            metrics.insert("Weight.s<k>".to_owned());
        }
    }
    assert!(metrics.len() >= 10, "the scan found too few metrics: {metrics:?}");
    for metric in &metrics {
        assert!(operations.contains(&format!("`{metric}`")), "docs/operations.md does not explain metric {metric}");
    }
    for alarm in ["strata-<fleet>-s<k>-requests-high", "strata-<fleet>-requests-low", "strata-<fleet>-targets-full"] {
        assert!(operations.contains(&format!("`{alarm}`")), "docs/operations.md does not explain alarm {alarm}");
    }
}

/// Relative links between the docs (and from the README) point at files that exist.
#[test]
fn relative_links_in_the_docs_resolve() {
    let root = workspace_root();
    let mut files = vec![root.join("README.md")];
    files.extend(fs::read_dir(root.join("docs")).unwrap().flatten().map(|e| e.path()));
    files.retain(|p| p.extension().is_some_and(|e| e == "md"));
    let mut broken = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        for (at, _) in text.match_indices("](") {
            let rest = &text[at + 2..];
            let target = &rest[..rest.find(')').unwrap_or(0)];
            let target = target.split('#').next().unwrap_or_default();
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let resolved = file.parent().unwrap().join(target);
            // docs/benchmarks.md is written by another change; a link to it may land first.
            if !resolved.exists() && !target.ends_with("benchmarks.md") {
                broken.push(format!("{}: {target}", file.display()));
            }
        }
    }
    assert!(broken.is_empty(), "broken links: {broken:?}");
}
