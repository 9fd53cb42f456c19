//! The deploy template (`infra/template.yaml`) against the code it deploys, with `infra/permissions.json` as the
//! single source of truth for what each function's role may do:
//! - each function's environment holds exactly the `STRATA_*` variables its code reads;
//! - each role grants exactly the actions of `permissions.json`, named one by one;
//! - what each role needs is derived from a realistic run of the real binaries, each under its own role, against
//!   the emulator, which enforces the template's policies (tests/emulator/strata_iam.py) and logs every action
//!   each call was authorized as, dependent actions included: nothing is refused, and every granted action is
//!   needed (or is an operation the code calls on a path the run does not take, or is used by Lambda itself);
//! - every call the code can make is granted to some function; the fixes of issue 14 (tag-on-create of
//!   listeners, the EC2 reads of ELBv2 creates) hold against the enforced template;
//! - the EventBridge rules route the sample events in `events/`, and the alarm action permission covers
//!   Strata's alarms;
//! - the example fleet stack's properties, sent as CloudFormation sends them, are accepted by the provisioner.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Value as Json, json};
use serde_yaml::Value as Yaml;
use strata_core::plan::scale::ScaleStep;
use strata_core::rebalance::RebalanceReport;
use strata_core::register::RegistrarReport;
use strata_core::scale::ScaleReport;
use strata_tests::custom_resource::{CfnAnswer, CfnStatus, provision};
use strata_tests::runtime::{FUNCTIONS, Outcome, role_access_key, run_function};
use strata_tests::{Emulator, Fixture, event, waf, workspace_root};

const REGION: &str = "us-east-1";

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
                "autoscaling" | "route53" | "cloudwatch" | "wafv2" => service,
                other => panic!("{}: unknown service {other} in aws_error", file.display()),
            };
            found.insert(format!("{prefix}:{operation}"));
        }
    }
    assert!(found.len() > 20, "the aws_error convention found only {found:?}: has it changed?");
    found
}

// --- 1. environment ---------------------------------------------------------------------------------------

/// Variables only tests set (docs/configuration.md says so); the template must not.
const TEST_HOOKS: [&str; 1] = ["STRATA_TEST_PANIC"];

#[test]
fn each_function_gets_exactly_the_strata_variables_its_code_reads() {
    let template = template();
    // Every variable is read in settings.rs, nowhere else, from the table the test reads below.
    let mut elsewhere = strata_variables("shared/src");
    for function in FUNCTIONS {
        elsewhere.extend(strata_variables(&format!("functions/{function}/src")));
    }
    let listed: BTreeSet<String> = strata_core::settings::VARIABLES.iter().map(|v| (*v).to_owned()).collect();
    assert!(elsewhere.is_subset(&listed), "a Strata variable outside settings::VARIABLES: {elsewhere:?}");
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
        // What the function's settings read (settings.rs reads nothing else for it).
        let mut read_by_code: BTreeSet<String> =
            strata_core::settings::variables_of(function).iter().map(|v| (*v).to_owned()).collect();
        // Test hooks are read by the code and never set by a deployment.
        read_by_code.retain(|v| !TEST_HOOKS.contains(&v.as_str()));
        assert!(read_by_code.contains("STRATA_LOG"), "{function}: every function reads STRATA_LOG");
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
fn every_call_the_code_can_make_is_granted_to_some_function() {
    let permissions = permissions();
    let granted_somewhere: BTreeSet<String> =
        FUNCTIONS.iter().flat_map(|function| permission_entry(&permissions, function).0).collect();
    let ungranted: Vec<String> = operations_in_code().difference(&granted_somewhere).cloned().collect();
    assert!(ungranted.is_empty(), "the code calls operations no function may: {ungranted:?}");
}

// --- 3. every call of a realistic run is allowed -----------------------------------------------------------

/// Runs the real binaries, each under its own role, against one emulator that enforces those roles.
struct Recorder<'a> {
    emulator: &'a Emulator,
}

impl Recorder<'_> {
    fn run(&mut self, function: &'static str, extra_env: &[(&str, &str)], events: &[Json]) -> Vec<Outcome> {
        let mut env = self.emulator.env(REGION);
        env.extend(extra_env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let outcomes = run_function(function, &env, events).outcomes;
        for (outcome, event) in outcomes.iter().zip(events) {
            assert!(matches!(outcome, Outcome::Response(_)), "{function} on {event}: {outcome:?}");
        }
        outcomes
    }

    fn provision(&mut self, fixture: &Fixture, request: &str, customize: impl FnOnce(&mut Json)) -> CfnAnswer {
        let answer = provision(self.emulator, fixture, request, customize);
        assert_eq!(answer.status(), CfnStatus::Success, "{request}: {answer}");
        answer
    }
}

fn steps(outcome: &Outcome) -> Vec<ScaleStep> {
    outcome.first_report::<ScaleReport>().plan.steps
}

/// A mirrored fleet that is created, scaled out, rebalanced, re-registered, drained, shrunk, updated and
/// deleted: the paths of every function that touch AWS.
fn fleet_properties(p: &mut Json) {
    p["DeregistrationDelaySeconds"] = json!("0");
    p["AutoScalingGroupTag"] = json!({"Key": "strata:fleet", "Value": "web"});
}

#[tokio::test]
async fn what_each_role_needs_is_derived_from_the_calls_its_function_makes() {
    let emulator = Emulator::start();
    let fixture = emulator.seed(REGION, json!([{"name": "web-a", "size": 2}, {"name": "web-b", "size": 1}]));
    let mut recorder = Recorder { emulator: &emulator };

    recorder.provision(&fixture, "create", fleet_properties);
    // A team protects its shard with its own web ACL: every new shard gets it (scaler and provisioner alike).
    let admin = emulator.clients(REGION).await;
    let web_acl = waf::create_web_acl(&admin, "team-acl").await;
    let s0 = admin.elbv2.describe_load_balancers().names("web-s0").send().await.expect("web-s0");
    waf::associate(&admin, &web_acl, s0.load_balancers()[0].load_balancer_arn().expect("an ARN")).await;

    let out = recorder.run("alb-scaler", &[], &[event("alb-scaler/alarm-action.json")]);
    assert!(matches!(steps(&out[0])[..], [ScaleStep::Create { .. }, ..]), "{out:?}");

    let rebalanced = recorder.run(
        "dns-rebalancer",
        &[],
        &[event("dns-rebalancer/schedule.json"), event("alb-scaler/alarm-eventbridge.json")],
    );
    assert!(rebalanced[0].first_report::<RebalanceReport>().records_written > 0, "{rebalanced:?}");

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
    assert_eq!(left[0].first_report::<RegistrarReport>().changes[0].asg, "web-c", "{left:?}");

    let drain = recorder.run("alb-scaler", &[], &[event("alb-scaler/alarm-low.json")]);
    assert!(matches!(steps(&drain[0])[..], [ScaleStep::Drain { .. }, ..]), "{drain:?}");
    let remove = recorder.run("alb-scaler", &[("STRATA_ALIAS_TTL_SECONDS", "0")], &[event("alb-scaler/schedule.json")]);
    assert!(matches!(steps(&remove[0])[..], [ScaleStep::Remove { .. }, ..]), "{remove:?}");

    // An Update that adds a shard: the provisioner gives it the fleet's web ACL.
    recorder.provision(&fixture, "update", |p| {
        fleet_properties(p);
        p["Limits"] = json!({"MinShards": "2"});
    });
    recorder.provision(&fixture, "delete", fleet_properties);

    let authorizations = emulator.authorizations();
    let refused: Vec<String> = authorizations
        .iter()
        .filter(|a| !a.allowed)
        .map(|a| format!("{} {} -> {} on {}", a.function, a.call, a.action, a.resource))
        .collect();
    assert!(refused.is_empty(), "the template's roles refused calls of this run: {refused:#?}");
    let mut needed: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for authorization in &authorizations {
        let function = FUNCTIONS.iter().find(|f| **f == authorization.function).expect("one of the four functions");
        needed.entry(function).or_default().insert(authorization.action.clone());
    }
    let permissions = permissions();
    let in_code = operations_in_code();
    for function in FUNCTIONS {
        let (granted, not_calls) = permission_entry(&permissions, function);
        let needed = needed.remove(function).unwrap_or_default();
        assert!(needed.len() >= 4, "{function} made too few calls for this check to mean anything: {needed:?}");
        let ungranted: Vec<&String> = needed.difference(&granted).collect();
        assert!(ungranted.is_empty(), "{function} needs what its role does not grant: {ungranted:?}");
        let not_needed: Vec<&String> =
            granted.iter().filter(|a| !needed.contains(*a) && !not_calls.contains(*a)).collect();
        let stale: Vec<&&String> = not_needed.iter().filter(|a| !in_code.contains(**a)).collect();
        assert!(stale.is_empty(), "{function} is granted what no call needs and the code never calls: {stale:?}");
        eprintln!(
            "{function}: {} actions needed; granted for paths this run does not take: {not_needed:?}",
            needed.len()
        );
    }
}

#[tokio::test]
async fn the_scaling_roles_may_tag_the_listeners_they_create() {
    // Issue 14, item 1: CreateListener with tags is also authorized as elasticloadbalancing:AddTags on the new
    // listener, with elasticloadbalancing:CreateAction = CreateListener.
    let emulator = Emulator::start();
    let fixture = emulator.seed(REGION, json!([]));
    let admin = emulator.clients(REGION).await.elbv2;
    let (lb_arn, tg_arn) = strata_shard_without_listeners(&admin, &fixture).await;
    for function in ["provisioner", "alb-scaler"] {
        let key = role_access_key(function).expect("a function with a role");
        let elbv2 = emulator.clients_as(REGION, &key).await.elbv2;
        let port = if function == "provisioner" { 80 } else { 8080 };
        let created = elbv2
            .create_listener()
            .load_balancer_arn(&lb_arn)
            .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
            .port(port)
            .default_actions(forward_to(&tg_arn))
            .set_tags(Some(ownership_tags()))
            .send()
            .await;
        let listener = created
            .unwrap_or_else(|e| panic!("{function}'s role refused CreateListener with tags: {}", sdk_error(&e)))
            .listeners()[0]
            .listener_arn()
            .expect("a listener ARN")
            .to_owned();
        let tags = admin.describe_tags().resource_arns(&listener).send().await.expect("describe tags");
        assert!(tags.tag_descriptions()[0].tags().iter().any(|t| t.key() == Some("strata:managed-by")));
    }
    let tag_checks: Vec<_> = emulator
        .authorizations()
        .into_iter()
        .filter(|a| a.action == "elasticloadbalancing:AddTags" && a.resource.contains(":listener/app/web-s1/"))
        .collect();
    assert_eq!(tag_checks.len(), 2, "each create was authorized as AddTags on the new listener: {tag_checks:?}");
}

#[tokio::test]
async fn the_scaling_roles_may_create_shards_with_the_ec2_reads_elb_needs() {
    // Issue 14, item 2: CreateLoadBalancer also needs six EC2 reads, CreateTargetGroup two (ELB User Guide,
    // "Elastic Load Balancing API permissions").
    let emulator = Emulator::start();
    let fixture = emulator.seed(REGION, json!([]));
    for (k, function) in ["provisioner", "alb-scaler"].into_iter().enumerate() {
        let key = role_access_key(function).expect("a function with a role");
        let elbv2 = emulator.clients_as(REGION, &key).await.elbv2;
        let name = format!("web-s{}", k + 1);
        elbv2
            .create_target_group()
            .name(format!("{name}-tg"))
            .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
            .port(80)
            .vpc_id(&fixture.vpc_id)
            .set_tags(Some(ownership_tags()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{function}'s role refused CreateTargetGroup: {}", sdk_error(&e)));
        elbv2
            .create_load_balancer()
            .name(&name)
            .set_subnets(Some(fixture.subnet_ids.clone()))
            .set_security_groups(Some(vec![fixture.security_group_id.clone()]))
            .set_tags(Some(ownership_tags()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{function}'s role refused CreateLoadBalancer: {}", sdk_error(&e)));
    }
    let ec2_reads: BTreeSet<(String, String)> = emulator
        .authorizations()
        .into_iter()
        .filter(|a| a.action.starts_with("ec2:") && a.allowed)
        .map(|a| (a.call.rsplit(':').next().unwrap_or_default().to_owned(), a.action))
        .collect();
    assert_eq!(ec2_reads.iter().filter(|(call, _)| call == "CreateLoadBalancer").count(), 6, "{ec2_reads:?}");
    assert_eq!(ec2_reads.iter().filter(|(call, _)| call == "CreateTargetGroup").count(), 2, "{ec2_reads:?}");
}

#[tokio::test]
async fn the_roles_refuse_what_strata_must_not_touch() {
    // The template's conditions, evaluated: what the code must never do is refused by the roles themselves.
    use aws_sdk_route53::error::ProvideErrorMetadata;
    use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch};
    use strata_tests::fixtures::{foreign_load_balancer, upsert, weighted_alias};

    let emulator = Emulator::start();
    let fixture = emulator.seed(REGION, json!([{"name": "web-a", "size": 1}]));
    let admin = emulator.clients(REGION).await;
    let as_role = |function: &str| role_access_key(function).expect("a function with a role");
    let refused = |what: &str, code: Option<&str>, message: Option<&str>| {
        assert_eq!(code, Some("AccessDenied"), "{what}: {message:?}");
        assert!(message.unwrap_or("").contains("is not authorized to perform"), "{what}: {message:?}");
    };

    // An ALB named like a shard but without Strata's tag (aws:ResourceTag/strata:managed-by).
    let foreign = foreign_load_balancer(&admin, &fixture, "legacy-s1").await;
    let scaler = emulator.clients_as(REGION, &as_role("alb-scaler")).await;
    let error = scaler.elbv2.delete_load_balancer().load_balancer_arn(&foreign).send().await.expect_err("untagged");
    refused("alb-scaler deletes an untagged ALB", error.code(), error.message());

    // A target group that is not a shard's (autoscaling:TargetGroupARNs).
    let tg = admin.elbv2.create_target_group().name("foreign-tg").vpc_id(&fixture.vpc_id);
    let tg = tg.protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http).port(80).send().await.unwrap();
    let tg_arn = tg.target_groups()[0].target_group_arn().unwrap().to_owned();
    let registrar = emulator.clients_as(REGION, &as_role("asg-registrar")).await;
    let attach = registrar.autoscaling.attach_load_balancer_target_groups().auto_scaling_group_name("web-a");
    let error = attach.target_group_arns(&tg_arn).send().await.expect_err("not a shard's target group");
    refused("asg-registrar attaches a foreign target group", error.code(), error.message());

    // The rebalancer only UPSERTs weights (route53:ChangeResourceRecordSetsActions).
    let record = weighted_alias("us-east-1.api.example.com", "legacy", "legacy.example.net", "Z2P70J7EXAMPLE", 10);
    upsert(&admin, &fixture.hosted_zone_id, record.clone()).await;
    let rebalancer = emulator.clients_as(REGION, &as_role("dns-rebalancer")).await;
    let delete = Change::builder().action(ChangeAction::Delete).resource_record_set(record).build().unwrap();
    let batch = ChangeBatch::builder().changes(delete).build().unwrap();
    let change = rebalancer.route53.change_resource_record_sets().hosted_zone_id(&fixture.hosted_zone_id);
    let error = change.change_batch(batch).send().await.expect_err("a DELETE");
    refused("dns-rebalancer deletes a record", error.code(), error.message());

    // A shard's ALB loses only stale policy keys (aws:TagKeys), never its ownership marks.
    let shard = admin.elbv2.create_load_balancer().name("web-s0").set_subnets(Some(fixture.subnet_ids.clone()));
    let shard = shard.tags(strata_tests::fixtures::elb_tag("strata:managed-by", "strata"));
    let shard = shard.tags(strata_tests::fixtures::elb_tag("strata:policy:scaler-arn", "old")).send().await.unwrap();
    let shard_arn = shard.load_balancers()[0].load_balancer_arn().unwrap().to_owned();
    let provisioner = emulator.clients_as(REGION, &as_role("provisioner")).await;
    let strip = provisioner.elbv2.remove_tags().resource_arns(&shard_arn).tag_keys("strata:managed-by");
    let error = strip.send().await.expect_err("an ownership tag");
    refused("provisioner removes strata:managed-by", error.code(), error.message());
    let stale = provisioner.elbv2.remove_tags().resource_arns(&shard_arn).tag_keys("strata:policy:scaler-arn");
    stale.send().await.expect("a stale policy key may go");

    let left = admin.elbv2.describe_load_balancers().send().await.unwrap();
    assert_eq!(left.load_balancers().len(), 2, "the refused delete changed nothing");
    let records = admin.route53.list_resource_record_sets().hosted_zone_id(&fixture.hosted_zone_id).send().await;
    assert!(records.unwrap().resource_record_sets().iter().any(|r| r.set_identifier() == Some("legacy")));
}

fn ownership_tags() -> Vec<aws_sdk_elasticloadbalancingv2::types::Tag> {
    [("strata:managed-by", "strata"), ("strata:fleet", "web"), ("strata:shard", "1")]
        .into_iter()
        .map(|(k, v)| aws_sdk_elasticloadbalancingv2::types::Tag::builder().key(k).value(v).build())
        .collect()
}

fn forward_to(tg_arn: &str) -> aws_sdk_elasticloadbalancingv2::types::Action {
    aws_sdk_elasticloadbalancingv2::types::Action::builder()
        .r#type(aws_sdk_elasticloadbalancingv2::types::ActionTypeEnum::Forward)
        .target_group_arn(tg_arn)
        .build()
}

/// A Strata-tagged ALB `web-s1` and its target group, made with the tests' own credentials.
async fn strata_shard_without_listeners(
    admin: &aws_sdk_elasticloadbalancingv2::Client,
    fixture: &Fixture,
) -> (String, String) {
    let tg = admin
        .create_target_group()
        .name("web-s1-tg")
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
        .port(80)
        .vpc_id(&fixture.vpc_id)
        .set_tags(Some(ownership_tags()))
        .send()
        .await
        .expect("create TG");
    let lb = admin
        .create_load_balancer()
        .name("web-s1")
        .set_subnets(Some(fixture.subnet_ids.clone()))
        .set_tags(Some(ownership_tags()))
        .send()
        .await
        .expect("create ALB");
    (
        lb.load_balancers()[0].load_balancer_arn().expect("ALB ARN").to_owned(),
        tg.target_groups()[0].target_group_arn().expect("TG ARN").to_owned(),
    )
}

fn sdk_error<E: aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata>(error: &E) -> String {
    format!("{}: {}", error.code().unwrap_or("?"), error.message().unwrap_or(""))
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

/// The optional AlarmTopicArn: set, the alarms' only action is the topic (the provisioner and the alb-scaler
/// read it as STRATA_ALARM_TOPIC_ARN), the alb-scaler subscribes to it and SNS may invoke it, CloudWatch may no
/// longer invoke it directly, and both roles may name the topic as an alarm action; empty, none of that exists.
#[test]
fn an_alarm_topic_replaces_the_direct_alarm_action_when_set() {
    let template = template();
    let parameter = &template["Parameters"]["AlarmTopicArn"];
    assert_eq!(parameter["Default"].as_str(), Some(""), "off unless set");
    let pattern = full_match(parameter["AllowedPattern"].as_str().expect("AllowedPattern"));
    assert!(pattern("") && pattern("arn:aws:sns:us-east-1:123456789012:strata-alarms"));
    assert!(!pattern("arn:aws:lambda:us-east-1:123456789012:function:x") && !pattern("strata-alarms"));
    let condition = |id: &str| template["Resources"][id]["Condition"].as_str().map(str::to_owned);
    let conditions = &template["Conditions"];
    assert_eq!(tag_of(&conditions["UseAlarmTopic"]).as_deref(), Some("Not"));
    assert_eq!(tag_of(&conditions["NoAlarmTopic"]).as_deref(), Some("Equals"));

    let (scaler_id, _) = function_resource(&template, "alb-scaler");
    for function in ["provisioner", "alb-scaler"] {
        let (id, lambda) = function_resource(&template, function);
        let topic = &lambda["Properties"]["Environment"]["Variables"]["STRATA_ALARM_TOPIC_ARN"];
        assert_eq!(referenced_id(topic).as_deref(), Some("AlarmTopicArn"), "{id} reads the topic");
    }
    let subscriptions = resources_of_type(&template, "AWS::SNS::Subscription");
    let [(subscription_id, subscription)] = subscriptions.as_slice() else { panic!("one subscription") };
    assert_eq!(condition(subscription_id).as_deref(), Some("UseAlarmTopic"));
    let properties = &subscription["Properties"];
    assert_eq!(properties["Protocol"].as_str(), Some("lambda"));
    assert_eq!(referenced_id(&properties["Endpoint"]), Some(scaler_id.clone()), "the alb-scaler subscribes");
    assert_eq!(referenced_id(&properties["TopicArn"]).as_deref(), Some("AlarmTopicArn"));

    let permissions = resources_of_type(&template, "AWS::Lambda::Permission");
    let by_principal = |principal: &str| -> Vec<&(String, &Yaml)> {
        permissions.iter().filter(|(_, p)| p["Properties"]["Principal"].as_str() == Some(principal)).collect()
    };
    let [(sns_id, sns)] = by_principal("sns.amazonaws.com")[..] else { panic!("one SNS permission") };
    assert_eq!(condition(sns_id).as_deref(), Some("UseAlarmTopic"));
    assert_eq!(referenced_id(&sns["Properties"]["FunctionName"]), Some(scaler_id.clone()));
    assert_eq!(referenced_id(&sns["Properties"]["SourceArn"]).as_deref(), Some("AlarmTopicArn"));
    let [(direct_id, _)] = by_principal("lambda.alarms.cloudwatch.amazonaws.com")[..] else { panic!("one") };
    assert_eq!(condition(direct_id).as_deref(), Some("NoAlarmTopic"), "with a topic, CloudWatch invokes no function");

    for function in ["provisioner", "alb-scaler"] {
        let (role_id, role) = role_of(&template, function);
        let statements: Vec<&Yaml> = role["Properties"]["Policies"]
            .as_sequence()
            .unwrap()
            .iter()
            .flat_map(|p| p["PolicyDocument"]["Statement"].as_sequence().unwrap())
            .filter(|s| strings(&s["Action"]).contains(&"cloudwatch:PutMetricAlarm".to_owned()))
            .collect();
        let [statement] = statements[..] else { panic!("{role_id}: one PutMetricAlarm statement") };
        let allowed = statement["Condition"]["ForAllValues:StringLike"]["cloudwatch:AlarmActions"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{role_id}: AlarmActions is a list"));
        let topic = allowed
            .iter()
            .find(|v| tag_of(v).as_deref() == Some("If"))
            .unwrap_or_else(|| panic!("{role_id}: the topic under !If"));
        let branches = untagged(topic).as_sequence().expect("!If [condition, then, else]");
        assert_eq!(branches[0].as_str(), Some("UseAlarmTopic"), "{role_id}");
        assert_eq!(referenced_id(&branches[1]).as_deref(), Some("AlarmTopicArn"), "{role_id}");
        assert_eq!(referenced_id(&branches[2]).as_deref(), Some("AWS::NoValue"), "{role_id}");
    }
}

/// Whether `value` matches a CloudFormation AllowedPattern as a whole, checked with Python's `re` from the
/// emulator's venv (the workspace has no regex crate).
fn full_match(pattern: &str) -> impl Fn(&str) -> bool + '_ {
    move |value: &str| {
        let out = std::process::Command::new(strata_tests::emulator::python())
            .args([
                "-c",
                "import re, sys; sys.exit(0 if re.fullmatch(sys.argv[1], sys.argv[2]) else 1)",
                pattern,
                value,
            ])
            .status()
            .expect("python");
        out.success()
    }
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
    assert_eq!(answer.status(), CfnStatus::Success, "{answer}");
}
