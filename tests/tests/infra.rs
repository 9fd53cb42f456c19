//! The deploy template (`infra/template.yaml`) against the code it deploys, with `infra/permissions.json` as the
//! single source of truth for what each function's role may do:
//! - each function's environment holds exactly the `STRATA_*` variables its code reads;
//! - each role grants exactly the actions of `permissions.json`, named one by one;
//! - every AWS call a function makes in a realistic run of the real binaries against the emulator is allowed;
//! - every granted action that is an API operation is one the code calls, and every call the code can make is
//!   granted to some function;
//! - the EventBridge rules route the sample events in `events/`, and the alarm action permission covers
//!   Strata's alarms;
//! - the example fleet stack's properties, sent as CloudFormation sends them, are accepted by the provisioner.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Value as Json, json};
use serde_yaml::Value as Yaml;
use strata_tests::custom_resource::provision;
use strata_tests::runtime::{Outcome, run_function};
use strata_tests::{Emulator, Fixture, event, workspace_root};

const REGION: &str = "us-east-1";
const FUNCTIONS: [&str; 4] = ["provisioner", "asg-registrar", "alb-scaler", "dns-rebalancer"];

// --- reading the template and permissions.json ------------------------------------------------------------

fn read(path: &str) -> String {
    let path = workspace_root().join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn yaml(path: &str) -> Yaml {
    serde_yaml::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn template() -> Yaml {
    yaml("infra/template.yaml")
}

fn permissions() -> Json {
    serde_json::from_str(&read("infra/permissions.json")).expect("infra/permissions.json is JSON")
}

/// A function's entry of permissions.json: (every action, the actions that are not API calls).
fn permission_entry(permissions: &Json, function: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let entry = &permissions[function];
    let list: Vec<String> = entry["actions"]
        .as_array()
        .unwrap_or_else(|| panic!("permissions.json has no actions for {function}"))
        .iter()
        .map(|a| a.as_str().expect("an action is a string").to_owned())
        .collect();
    let mut sorted = list.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(list, sorted, "permissions.json: {function}'s actions are sorted and unique");
    let not_calls: BTreeSet<String> =
        entry["not_api_calls"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    (list.into_iter().collect(), not_calls)
}

/// The value under a CloudFormation short-form tag (`!Sub x` is `x`), or the value itself.
fn untagged(value: &Yaml) -> &Yaml {
    match value {
        Yaml::Tagged(tagged) => &tagged.value,
        other => other,
    }
}

fn tag_of(value: &Yaml) -> Option<String> {
    match value {
        Yaml::Tagged(tagged) => Some(tagged.tag.to_string().trim_start_matches('!').to_owned()),
        _ => None,
    }
}

fn text(value: &Yaml) -> Option<&str> {
    untagged(value).as_str()
}

/// Every resource of the template: (logical id, resource).
fn resources(template: &Yaml) -> Vec<(String, &Yaml)> {
    template["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .map(|(id, resource)| (id.as_str().expect("a logical id").to_owned(), resource))
        .collect()
}

fn resources_of_type<'a>(template: &'a Yaml, kind: &str) -> Vec<(String, &'a Yaml)> {
    resources(template).into_iter().filter(|(_, r)| r["Type"].as_str() == Some(kind)).collect()
}

/// The logical id a `!Ref X`, `!GetAtt X.Arn` or `!GetAtt [X, Arn]` points at.
fn referenced_id(value: &Yaml) -> Option<String> {
    match (tag_of(value)?.as_str(), untagged(value)) {
        ("Ref", Yaml::String(id)) => Some(id.clone()),
        ("GetAtt", Yaml::String(path)) => path.split('.').next().map(str::to_owned),
        ("GetAtt", Yaml::Sequence(parts)) => parts.first().and_then(Yaml::as_str).map(str::to_owned),
        _ => None,
    }
}

/// The AWS::Lambda::Function deploying `function` (named `<prefix>-<function>`): (logical id, resource).
fn function_resource<'a>(template: &'a Yaml, function: &str) -> (String, &'a Yaml) {
    let wanted = format!("${{FunctionNamePrefix}}-{function}");
    let mut found: Vec<_> = resources_of_type(template, "AWS::Lambda::Function")
        .into_iter()
        .filter(|(_, r)| text(&r["Properties"]["FunctionName"]) == Some(wanted.as_str()))
        .collect();
    assert_eq!(found.len(), 1, "exactly one function named {wanted}");
    found.remove(0)
}

fn resource<'a>(template: &'a Yaml, id: &str) -> &'a Yaml {
    let found = &template["Resources"][id];
    assert!(!found.is_null(), "no resource {id}");
    found
}

fn role_of<'a>(template: &'a Yaml, function: &str) -> (String, &'a Yaml) {
    let (_, lambda) = function_resource(template, function);
    let id = referenced_id(&lambda["Properties"]["Role"]).expect("Role: !GetAtt <role>.Arn");
    let role = resource(template, &id);
    assert_eq!(role["Type"].as_str(), Some("AWS::IAM::Role"), "{id}");
    (id, role)
}

fn strings(value: &Yaml) -> Vec<String> {
    match untagged(value) {
        Yaml::String(s) => vec![s.clone()],
        Yaml::Sequence(items) => items.iter().filter_map(text).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// Every action a role allows, from its inline policies (the only place a Strata role gets permissions).
fn role_actions(role_id: &str, role: &Yaml) -> BTreeSet<String> {
    let properties = &role["Properties"];
    assert!(properties["ManagedPolicyArns"].is_null(), "{role_id}: no managed policy, every action is inline");
    let mut actions = BTreeSet::new();
    for policy in properties["Policies"].as_sequence().expect("inline Policies") {
        for statement in policy["PolicyDocument"]["Statement"].as_sequence().expect("Statement list") {
            let sid = statement["Sid"].as_str().unwrap_or("?");
            assert_eq!(statement["Effect"].as_str(), Some("Allow"), "{role_id}/{sid}");
            assert!(statement["NotAction"].is_null() && statement["NotResource"].is_null(), "{role_id}/{sid}");
            for action in strings(&statement["Action"]) {
                assert!(!action.contains('*'), "{role_id}/{sid}: actions are named one by one, not {action}");
                actions.insert(action);
            }
        }
    }
    actions
}

// --- what the code reads and calls ---------------------------------------------------------------------

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `"STRATA_..."` string literal in the Rust sources under `dir`: the deployment-wide environment
/// variables the code reads (`std::env::var`, `EnvFilter::try_from_env`).
fn strata_variables(dir: &str) -> BTreeSet<String> {
    let mut files = Vec::new();
    rust_files(&workspace_root().join(dir), &mut files);
    let mut found = BTreeSet::new();
    for file in files {
        let source = std::fs::read_to_string(&file).expect("a source file");
        for (at, _) in source.match_indices("\"STRATA_") {
            let name: String =
                source[at + 1..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if source[at + 1 + name.len()..].starts_with('"') {
                found.insert(name);
            }
        }
    }
    found
}

/// Every AWS operation the shared code calls, as IAM actions: each SDK call maps its error through
/// `aws_error("<service>", "<Operation>", ...)`, which names it.
fn operations_in_code() -> BTreeSet<String> {
    let mut files = Vec::new();
    rust_files(&workspace_root().join("shared/src"), &mut files);
    let mut found = BTreeSet::new();
    for file in files {
        let source = std::fs::read_to_string(&file).expect("a source file");
        for (at, _) in source.match_indices("aws_error(\"") {
            let mut parts = source[at + "aws_error(".len()..].split('"');
            let (Some(""), Some(service), Some(", "), Some(operation)) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let prefix = match service {
                "elbv2" => "elasticloadbalancing",
                "autoscaling" | "route53" | "cloudwatch" => service,
                other => panic!("{}: unknown service {other} in aws_error", file.display()),
            };
            found.insert(format!("{prefix}:{operation}"));
        }
    }
    assert!(found.len() > 20, "the aws_error convention found only {found:?}: has it changed?");
    found
}

/// The IAM action of one call the emulator logged (`service:Operation`, or `route53:METHOD /path` for
/// Route 53's REST protocol); None for S3 (the provisioner's answer, a pre-signed PUT) and unsigned calls.
fn iam_action(call: &str) -> Option<String> {
    let (service, operation) = call.split_once(':').expect("service:operation");
    match service {
        "s3" | "unsigned" => None,
        // The SDK signs CloudWatch as `monitoring`; IAM names its actions cloudwatch:*.
        "monitoring" => Some(format!("cloudwatch:{operation}")),
        "elasticloadbalancing" | "autoscaling" => Some(call.to_owned()),
        "route53" => Some(format!("route53:{}", route53_operation(operation))),
        other => panic!("a call to a service no function should use: {call} ({other})"),
    }
}

/// Route 53's REST routes (API version 2013-04-01) as operation names.
fn route53_operation(request: &str) -> &'static str {
    let (method, path) = request.split_once(' ').expect("METHOD /path");
    let path = path.trim_end_matches('/');
    let segments: Vec<&str> =
        path.strip_prefix("/2013-04-01/").unwrap_or_else(|| panic!("a Route 53 path: {request}")).split('/').collect();
    match (method, segments.as_slice()) {
        ("POST", ["hostedzone", _, "rrset"]) => "ChangeResourceRecordSets",
        ("GET", ["hostedzone", _, "rrset"]) => "ListResourceRecordSets",
        ("GET", ["hostedzone", _]) => "GetHostedZone",
        ("GET", ["hostedzone"]) => "ListHostedZones",
        ("POST", ["healthcheck"]) => "CreateHealthCheck",
        ("GET", ["healthcheck"]) => "ListHealthChecks",
        ("GET", ["healthcheck", _]) => "GetHealthCheck",
        ("POST", ["healthcheck", _]) => "UpdateHealthCheck",
        ("DELETE", ["healthcheck", _]) => "DeleteHealthCheck",
        ("POST", ["tags", _, _]) => "ChangeTagsForResource",
        ("GET", ["tags", _, _]) => "ListTagsForResource",
        _ => panic!("a Route 53 call this test cannot name: {request}"),
    }
}

// --- 1. environment ---------------------------------------------------------------------------------------

#[test]
fn each_function_gets_exactly_the_strata_variables_its_code_reads() {
    let template = template();
    let shared = strata_variables("shared/src");
    assert!(shared.contains("STRATA_LOG"), "the shared logging setup reads STRATA_LOG: {shared:?}");
    for function in FUNCTIONS {
        let (id, lambda) = function_resource(&template, function);
        let variables = untagged(&lambda["Properties"]["Environment"]["Variables"]);
        let in_template: BTreeSet<String> = variables
            .as_mapping()
            .unwrap_or_else(|| panic!("{id}: Environment.Variables"))
            .keys()
            .map(|k| k.as_str().expect("a variable name").to_owned())
            .collect();
        assert!(
            in_template.iter().all(|v| !v.starts_with("AWS_")),
            "{id}: AWS_* variables are Lambda's to set: {in_template:?}"
        );
        let mut read_by_code = strata_variables(&format!("functions/{function}/src"));
        read_by_code.extend(shared.iter().cloned());
        assert_eq!(in_template, read_by_code, "{id}: the template's variables against the code's");
    }
}

#[test]
fn the_scaler_arn_variables_name_the_alb_scaler_without_a_circular_reference() {
    let template = template();
    let (scaler_id, scaler) = function_resource(&template, "alb-scaler");
    let own = &scaler["Properties"]["Environment"]["Variables"]["STRATA_SCALER_ARN"];
    assert_eq!(tag_of(own).as_deref(), Some("Sub"), "{scaler_id} builds its own ARN with !Sub");
    assert_eq!(
        text(own),
        Some("arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${FunctionNamePrefix}-alb-scaler")
    );
    let (_, provisioner) = function_resource(&template, "provisioner");
    let given = &provisioner["Properties"]["Environment"]["Variables"]["STRATA_SCALER_ARN"];
    assert_eq!(referenced_id(given), Some(scaler_id), "the provisioner's alarms act on the alb-scaler");
}

// --- 2. roles ---------------------------------------------------------------------------------------------

#[test]
fn each_role_grants_exactly_the_actions_of_permissions_json() {
    let template = template();
    let permissions = permissions();
    let mut roles = BTreeSet::new();
    for function in FUNCTIONS {
        let (role_id, role) = role_of(&template, function);
        assert!(roles.insert(role_id.clone()), "{role_id}: one role per function");
        let principals =
            strings(&role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"]);
        assert_eq!(principals, ["lambda.amazonaws.com"], "{role_id}: only Lambda assumes it");
        let (granted, not_calls) = permission_entry(&permissions, function);
        assert_eq!(role_actions(&role_id, role), granted, "{role_id} against permissions.json[{function}]");
        assert!(not_calls.is_subset(&granted), "{function}: not_api_calls names only granted actions");
    }
    let all_roles: BTreeSet<String> =
        resources_of_type(&template, "AWS::IAM::Role").into_iter().map(|(id, _)| id).collect();
    assert_eq!(all_roles, roles, "no role beyond the functions' own");
    let listed: BTreeSet<&str> =
        permissions.as_object().unwrap().keys().map(String::as_str).filter(|k| !k.starts_with('$')).collect();
    assert_eq!(listed, FUNCTIONS.into_iter().collect(), "permissions.json lists the four functions");
}

#[test]
fn granted_api_actions_are_calls_the_code_makes_and_every_call_is_granted() {
    let permissions = permissions();
    let in_code = operations_in_code();
    let mut granted_somewhere = BTreeSet::new();
    for function in FUNCTIONS {
        let (granted, not_calls) = permission_entry(&permissions, function);
        let api: BTreeSet<String> = granted.difference(&not_calls).cloned().collect();
        let stale: Vec<&String> = api.difference(&in_code).collect();
        assert!(stale.is_empty(), "{function} is granted operations the code never calls: {stale:?}");
        granted_somewhere.extend(api);
    }
    let ungranted: Vec<&String> = in_code.difference(&granted_somewhere).collect();
    assert!(ungranted.is_empty(), "the code calls operations no function may: {ungranted:?}");
}

// --- 3. every call of a realistic run is allowed -----------------------------------------------------------

/// Runs the real binaries against one emulator and attributes every AWS call to the function that made it.
struct Recorder<'a> {
    emulator: &'a Emulator,
    calls: BTreeMap<&'static str, BTreeSet<String>>,
}

impl Recorder<'_> {
    fn record(&mut self, function: &'static str, before: usize) {
        let calls = self.emulator.calls();
        self.calls.entry(function).or_default().extend(calls[before..].iter().filter_map(|c| iam_action(c)));
    }

    fn run(&mut self, function: &'static str, extra_env: &[(&str, &str)], events: &[Json]) -> Vec<Outcome> {
        let mut env = self.emulator.env(REGION);
        env.extend(extra_env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let before = self.emulator.calls().len();
        let outcomes = run_function(function, &env, events).outcomes;
        self.record(function, before);
        for (outcome, event) in outcomes.iter().zip(events) {
            assert!(matches!(outcome, Outcome::Response(_)), "{function} on {event}: {outcome:?}");
        }
        outcomes
    }

    fn provision(&mut self, fixture: &Fixture, request: &str, customize: impl FnOnce(&mut Json)) -> Json {
        let before = self.emulator.calls().len();
        let answer = provision(self.emulator, fixture, request, customize);
        self.record("provisioner", before);
        assert_eq!(answer["Status"], "SUCCESS", "{request}: {answer}");
        answer
    }
}

fn steps(outcome: &Outcome) -> Json {
    outcome.response()["fleets"][0]["plan"]["steps"].clone()
}

/// A mirrored fleet that is created, scaled out, rebalanced, re-registered, drained, shrunk, updated and
/// deleted: the paths of every function that touch AWS.
fn fleet_properties(p: &mut Json) {
    p["DeregistrationDelaySeconds"] = json!("0");
    p["AutoScalingGroupTag"] = json!({"Key": "strata:fleet", "Value": "web"});
}

#[tokio::test]
async fn every_call_a_function_makes_is_allowed_by_its_role() {
    let emulator = Emulator::start();
    let fixture = emulator.seed(REGION, json!([{"name": "web-a", "size": 2}, {"name": "web-b", "size": 1}]));
    let mut recorder = Recorder { emulator: &emulator, calls: BTreeMap::new() };

    recorder.provision(&fixture, "create", fleet_properties);

    let out = recorder.run("alb-scaler", &[], &[event("alb-scaler/alarm-action.json")]);
    assert_eq!(steps(&out[0])[0]["action"], "create", "{out:?}");

    let rebalanced = recorder.run(
        "dns-rebalancer",
        &[],
        &[event("dns-rebalancer/schedule.json"), event("alb-scaler/alarm-eventbridge.json")],
    );
    assert!(rebalanced[0].response()["fleets"][0]["records_written"].as_u64() > Some(0), "{rebalanced:?}");

    emulator.seed(REGION, json!([{"name": "web-c", "size": 1, "tags": {"strata:fleet": "web"}}]));
    let registrar_events = |names: &[&str]| -> Vec<Json> {
        names.iter().map(|name| event(&format!("asg-registrar/{name}.json"))).collect()
    };
    recorder.run("asg-registrar", &[], &registrar_events(&["create-asg", "instance-launch", "schedule"]));
    // web-c leaves the fleet: the tag change detaches it from the fleet's target groups.
    let untag = aws_sdk_autoscaling::types::Tag::builder()
        .resource_id("web-c")
        .resource_type("auto-scaling-group")
        .key("strata:fleet")
        .value("web")
        .build();
    emulator.clients(REGION).await.autoscaling.delete_tags().tags(untag).send().await.expect("untag web-c");
    let left = recorder.run("asg-registrar", &[], &registrar_events(&["tag-change", "delete-asg"]));
    assert_eq!(left[0].response()["fleets"][0]["changes"][0]["asg"], "web-c", "{left:?}");

    let drain = recorder.run("alb-scaler", &[], &[event("alb-scaler/alarm-low.json")]);
    assert_eq!(steps(&drain[0])[0]["action"], "drain", "{drain:?}");
    let remove = recorder.run("alb-scaler", &[("STRATA_ALIAS_TTL_SECONDS", "0")], &[event("alb-scaler/schedule.json")]);
    assert_eq!(steps(&remove[0])[0]["action"], "remove", "{remove:?}");

    recorder.provision(&fixture, "update", fleet_properties);
    recorder.provision(&fixture, "delete", fleet_properties);

    let permissions = permissions();
    for function in FUNCTIONS {
        let (granted, not_calls) = permission_entry(&permissions, function);
        let made = recorder.calls.get(function).cloned().unwrap_or_default();
        assert!(made.len() >= 4, "{function} made too few calls for this check to mean anything: {made:?}");
        let denied: Vec<&String> = made.iter().filter(|a| !granted.contains(*a) || not_calls.contains(*a)).collect();
        assert!(denied.is_empty(), "{function} called what its role does not allow: {denied:?}");
        let unused: Vec<&String> = granted.difference(&not_calls).filter(|a| !made.contains(*a)).collect();
        eprintln!("{function}: {} calls allowed; granted but not exercised in this run: {unused:?}", made.len());
    }
}

// --- triggers ---------------------------------------------------------------------------------------------

/// EventBridge's matching for the subset of patterns the template uses: exact values and `prefix`.
fn matches(pattern: &Json, event: &Json) -> bool {
    let Some(fields) = pattern.as_object() else { return false };
    fields.iter().all(|(key, wanted)| {
        let Some(actual) = event.get(key) else { return false };
        match wanted {
            Json::Object(_) => matches(wanted, actual),
            Json::Array(choices) => {
                let values: Vec<&Json> = match actual {
                    Json::Array(items) => items.iter().collect(),
                    one => vec![one],
                };
                values.iter().any(|value| {
                    choices.iter().any(|choice| match choice.get("prefix").and_then(Json::as_str) {
                        Some(prefix) => value.as_str().is_some_and(|v| v.starts_with(prefix)),
                        None => choice == *value,
                    })
                })
            }
            _ => false,
        }
    })
}

/// The EventBridge rules that target `function`, each with a Lambda permission naming it as SourceArn.
fn rules_of<'a>(template: &'a Yaml, function: &str) -> Vec<(String, &'a Yaml)> {
    let (function_id, _) = function_resource(template, function);
    let permissions = resources_of_type(template, "AWS::Lambda::Permission");
    resources_of_type(template, "AWS::Events::Rule")
        .into_iter()
        .filter(|(_, rule)| {
            rule["Properties"]["Targets"].as_sequence().is_some_and(|targets| {
                targets.iter().any(|t| referenced_id(&t["Arn"]).as_deref() == Some(&function_id))
            })
        })
        .inspect(|(rule_id, _)| {
            let allowed = permissions.iter().any(|(_, p)| {
                let p = &p["Properties"];
                referenced_id(&p["FunctionName"]).as_deref() == Some(&function_id)
                    && p["Principal"].as_str() == Some("events.amazonaws.com")
                    && referenced_id(&p["SourceArn"]).as_deref() == Some(rule_id.as_str())
                    && referenced_id(&p["SourceAccount"]).as_deref() == Some("AWS::AccountId")
            });
            assert!(allowed, "{rule_id} may invoke {function_id}: a permission with its SourceArn and SourceAccount");
        })
        .collect()
}

fn routed(template: &Yaml, function: &str, sample: &str) -> bool {
    let sample = event(sample);
    rules_of(template, function).iter().any(|(_, rule)| {
        let properties = &rule["Properties"];
        if sample["detail-type"] == "Scheduled Event" {
            return text(&properties["ScheduleExpression"]).is_some();
        }
        let pattern = serde_json::to_value(&properties["EventPattern"]).expect("a pattern as JSON");
        matches(&pattern, &sample)
    })
}

#[test]
fn eventbridge_rules_route_the_sample_events_each_function_acts_on() {
    let template = template();
    for (function, sample) in [
        ("asg-registrar", "asg-registrar/create-asg.json"),
        ("asg-registrar", "asg-registrar/delete-asg.json"),
        ("asg-registrar", "asg-registrar/instance-launch.json"),
        ("asg-registrar", "asg-registrar/tag-change.json"),
        ("asg-registrar", "asg-registrar/schedule.json"),
        ("alb-scaler", "alb-scaler/alarm-eventbridge.json"),
        ("alb-scaler", "alb-scaler/schedule.json"),
        ("dns-rebalancer", "dns-rebalancer/schedule.json"),
        ("dns-rebalancer", "alb-scaler/alarm-eventbridge.json"),
        ("dns-rebalancer", "alb-scaler/alarm-insufficient-data.json"),
    ] {
        assert!(routed(&template, function, sample), "no rule routes {sample} to {function}");
    }
    // The scaler acts only on a move into ALARM: EventBridge filters the rest out before any invocation.
    assert!(!routed(&template, "alb-scaler", "alb-scaler/alarm-insufficient-data.json"));
    assert!(rules_of(&template, "provisioner").is_empty(), "CloudFormation invokes the provisioner directly");
}

#[test]
fn cloudwatch_may_invoke_the_alb_scaler_for_strata_alarms_only() {
    let template = template();
    let (scaler_id, _) = function_resource(&template, "alb-scaler");
    let alarm_permissions: Vec<_> = resources_of_type(&template, "AWS::Lambda::Permission")
        .into_iter()
        .filter(|(_, p)| p["Properties"]["Principal"].as_str() == Some("lambda.alarms.cloudwatch.amazonaws.com"))
        .collect();
    assert_eq!(alarm_permissions.len(), 1, "one alarm permission");
    let properties = &alarm_permissions[0].1["Properties"];
    assert_eq!(referenced_id(&properties["FunctionName"]), Some(scaler_id));
    assert_eq!(referenced_id(&properties["SourceAccount"]).as_deref(), Some("AWS::AccountId"));
    let source = text(&properties["SourceArn"]).expect("SourceArn");
    let alarm = event("alb-scaler/alarm-action.json");
    let alarm_arn = alarm["alarmArn"].as_str().expect("alarmArn");
    let pattern = source
        .replace("${AWS::Partition}", "aws")
        .replace("${AWS::Region}", alarm["region"].as_str().unwrap())
        .replace("${AWS::AccountId}", alarm["accountId"].as_str().unwrap());
    let prefix = pattern.strip_suffix('*').expect("SourceArn ends with strata-*");
    assert!(prefix.ends_with(":alarm:strata-"), "{source}");
    assert!(alarm_arn.starts_with(prefix), "{alarm_arn} is covered by {source}");
}

// --- the example fleet stack ----------------------------------------------------------------------------

/// The example's Custom::StrataFleet properties as CloudFormation sends them to the provisioner: parameters
/// resolved to the fixture's ids, the import to the provisioner's ARN, every scalar a string.
fn as_cloudformation_sends(value: &Yaml, fixture: &Fixture) -> Json {
    if let Some(kind) = tag_of(value) {
        return match kind.as_str() {
            "ImportValue" => json!("arn:aws:lambda:us-east-1:123456789012:function:strata-provisioner"),
            "Ref" => match text(value).expect("!Ref <parameter>") {
                "HostedZoneId" => json!(fixture.hosted_zone_id),
                "VpcId" => json!(fixture.vpc_id),
                "SubnetIds" => json!(fixture.subnet_ids),
                "SecurityGroupIds" => json!([fixture.security_group_id]),
                "CertificateArn" => json!(fixture.certificate_arn),
                other => panic!("a parameter this test does not resolve: {other}"),
            },
            other => panic!("an intrinsic this test does not resolve: !{other}"),
        };
    }
    match value {
        Yaml::Mapping(map) => Json::Object(
            map.iter()
                .map(|(k, v)| (k.as_str().expect("a property name").to_owned(), as_cloudformation_sends(v, fixture)))
                .collect(),
        ),
        Yaml::Sequence(items) => Json::Array(items.iter().map(|v| as_cloudformation_sends(v, fixture)).collect()),
        Yaml::String(s) => json!(s),
        Yaml::Number(n) => json!(n.to_string()),
        Yaml::Bool(b) => json!(b.to_string()),
        other => panic!("an unexpected property value: {other:?}"),
    }
}

#[test]
fn the_example_fleet_imports_the_service_token_and_sets_a_service_timeout() {
    let template = template();
    let export = text(&template["Outputs"]["ProvisionerArn"]["Export"]["Name"]).expect("an exported ProvisionerArn");
    let example = yaml("infra/examples/fleet-us-east-1.yaml");
    let fleets = resources_of_type(&example, "Custom::StrataFleet");
    assert_eq!(fleets.len(), 1);
    let properties = &fleets[0].1["Properties"];
    let token = &properties["ServiceToken"];
    assert_eq!(tag_of(token).as_deref(), Some("ImportValue"));
    let imported = untagged(token)["Fn::Sub"].as_str().expect("!ImportValue {Fn::Sub: ...}");
    assert_eq!(imported.replace("${StrataStackName}", "${AWS::StackName}"), export);
    let timeout = properties["ServiceTimeout"].as_u64().expect("ServiceTimeout in seconds");
    let (_, provisioner) = function_resource(&template, "provisioner");
    let lambda_timeout = provisioner["Properties"]["Timeout"].as_u64().expect("Timeout");
    assert!(
        (lambda_timeout..=3600).contains(&timeout),
        "ServiceTimeout {timeout} s covers the {lambda_timeout} s Lambda"
    );
}

#[test]
fn the_example_fleet_properties_are_accepted_by_the_provisioner() {
    let emulator = Emulator::start();
    let fixture = emulator.seed(REGION, json!([{"name": "web-a", "size": 2}, {"name": "web-b", "size": 1}]));
    let example = yaml("infra/examples/fleet-us-east-1.yaml");
    let properties =
        as_cloudformation_sends(&resources_of_type(&example, "Custom::StrataFleet")[0].1["Properties"], &fixture);
    assert_eq!(properties["ServiceTimeout"], "900", "CloudFormation sends it among the properties, as a string");
    let answer = provision(&emulator, &fixture, "create", |p| *p = properties);
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
}
