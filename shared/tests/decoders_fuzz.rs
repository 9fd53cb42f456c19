//! Property-generated input for every decoder and the spec parser: arbitrary JSON, the sample events with
//! fields replaced by arbitrary values, huge strings, unknown fields. Each must answer Ok or a clear error
//! (`InvalidEvent` / `InvalidSpec` with a message), never panic. Decoding is pure and every handler decodes
//! before its first AWS call, so a refused event makes no call (the end-to-end tests check that on the emulator).

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use strata_core::StrataError;
use strata_core::custom_resource::CustomResourceRequest;
use strata_core::events::{decode_alarm, decode_asg_event, decode_rebalance, decode_scale};
use strata_core::spec::FleetSpec;

fn sample(path: &str) -> Value {
    let text = std::fs::read_to_string(format!("{}/../events/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        (1usize..200_000).prop_map(|n| Value::String("x".repeat(n))),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[A-Za-z:-]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Every path to a value inside a JSON document.
fn paths(value: &Value, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(prefix.clone());
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| paths(v, [prefix.clone(), vec![k.clone()]].concat(), out)),
        Value::Array(items) => {
            items.iter().enumerate().for_each(|(i, v)| paths(v, [prefix.clone(), vec![i.to_string()]].concat(), out))
        }
        _ => {}
    }
}

fn replace_at(value: &mut Value, path: &[String], new: Value) {
    let Some((first, rest)) = path.split_first() else {
        *value = new;
        return;
    };
    let child = match value {
        Value::Object(map) => map.get_mut(first),
        Value::Array(items) => first.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
        _ => None,
    };
    if let Some(child) = child {
        replace_at(child, rest, new);
    }
}

const SAMPLES: &[&str] = &[
    "alb-scaler/alarm-action.json",
    "alb-scaler/alarm-eventbridge.json",
    "alb-scaler/alarm-sns.json",
    "alb-scaler/alarm-low.json",
    "asg-registrar/create-asg.json",
    "asg-registrar/tag-change.json",
    "asg-registrar/instance-launch.json",
    "dns-rebalancer/schedule.json",
    "provisioner/create.json",
    "provisioner/update.json",
];

fn clear(result: Result<impl std::fmt::Debug, StrataError>) -> Result<(), TestCaseError> {
    if let Err(err) = result {
        let kind_ok = matches!(err, StrataError::InvalidEvent(_) | StrataError::InvalidSpec(_));
        prop_assert!(kind_ok, "unexpected error kind: {err:?}");
        prop_assert!(err.to_string().len() > 15, "an error must say what is wrong: {err}");
    }
    Ok(())
}

/// Every decoder and the spec parser over one input.
fn decode_all(event: &Value) -> Result<(), TestCaseError> {
    clear(decode_alarm(event))?;
    clear(decode_scale(event, "us-east-1", Some("123456789012")))?;
    clear(decode_rebalance(event, Some("123456789012")))?;
    clear(decode_asg_event(event, "us-east-1", Some("123456789012")))?;
    clear(CustomResourceRequest::from_json(event))?;
    clear(FleetSpec::from_properties(event))?;
    if let Some(props) = event.get("ResourceProperties") {
        clear(FleetSpec::from_properties(props))?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_never_panics_a_decoder(event in arbitrary_json()) {
        decode_all(&event)?;
    }

    #[test]
    fn sample_events_with_a_field_replaced_never_panic(sample_index in 0..SAMPLES.len(), pick in any::<prop::sample::Index>(), new in arbitrary_json()) {
        let mut event = sample(SAMPLES[sample_index]);
        let mut all = Vec::new();
        paths(&event, Vec::new(), &mut all);
        let path = pick.get(&all).clone();
        replace_at(&mut event, &path, new);
        decode_all(&event)?;
    }

    #[test]
    fn unknown_properties_are_named_in_the_error(name in "[A-Z][A-Za-z]{3,20}", value in arbitrary_json()) {
        let mut event = sample("provisioner/create.json");
        let props = &mut event["ResourceProperties"];
        prop_assume!(props.get(&name).is_none());
        props[&name] = value;
        let err = FleetSpec::from_properties(props).expect_err("an unknown property is refused");
        prop_assert!(err.to_string().contains(&name), "{err}");
    }
}
