//! The JSON Schema of the properties, generated from `FleetSpec` (schemars reads its doc comments, serde
//! attributes and garde rules), and what the provisioner reads from it: which properties exist, which are
//! required, a valid example of each, and which changes AWS cannot make in place (`x-on-update`).

use std::sync::OnceLock;

use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use super::FleetSpec;

/// What an Update that changes a property does, as declared on the field (`x-on-update`; absent: in place).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnUpdate {
    /// Applied to every existing shard (and written to the policy tags the other functions read).
    InPlace,
    /// Refused with a FAILED answer: AWS cannot change it on an existing ALB or target group.
    Refused,
    /// Another fleet: built beside the old one, which CloudFormation then deletes (new PhysicalResourceId).
    NewFleet,
    /// Existing shards keep what they were built with; shards built from now on get it.
    NewShardsOnly,
    /// Not a setting (CloudFormation's own, or a guard).
    NoEffect,
}

impl OnUpdate {
    pub fn of(property: &Value) -> Self {
        match property.get("x-on-update").and_then(Value::as_str) {
            Some("refused") => Self::Refused,
            Some("new-fleet") => Self::NewFleet,
            Some("new-shards-only") => Self::NewShardsOnly,
            Some("none") => Self::NoEffect,
            _ => Self::InPlace,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::InPlace => "in place",
            Self::Refused => "**refused**: new `FleetName`",
            Self::NewFleet => "new fleet (replacement)",
            Self::NewShardsOnly => "new shards only",
            Self::NoEffect => "—",
        }
    }
}

const CHECKED_BY_THE_PROVISIONER: &str = "Not expressed here, checked by the provisioner: Limits.MinShards <= \
    Limits.MaxShards, Limits.ScaleInPercent < Limits.ScaleOutPercent, no id twice in a list, at least one ASG \
    selector. Stricter here than the provisioner, which trims surrounding whitespace, ignores a null optional \
    property and reads a JSON number where text is expected.";

/// The JSON Schema (draft 2020-12), every subschema inline, properties in the order of the type.
/// An optional property also allows `null` (read as left out). Generated once per process.
pub fn json_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(generate)
}

fn generate() -> Value {
    let generator = SchemaSettings::draft2020_12().with(|s| s.inline_subschemas = true).into_generator();
    let mut schema = generator.into_root_schema_for::<FleetSpec>().to_value();
    tighten_numbers_as_text(&mut schema);
    let description = format!(
        "The properties of a Custom::StrataFleet CloudFormation resource, as Strata's provisioner accepts them. \
         CloudFormation sends every scalar as a string, so numbers and booleans are accepted in both forms. \
         Generated from shared/src/spec (STRATA_BLESS=1 cargo test -p strata-tests --test docs). \
         {CHECKED_BY_THE_PROVISIONER}"
    );
    schema["description"] = json!(description);
    schema
}

/// The schema as committed: pretty JSON and a final newline.
pub fn json_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(json_schema()).expect("a schema serializes");
    text.push('\n');
    text
}

/// The text form of a number or a list gets a pattern from the constraints garde put on the other form: a
/// number's range, a list's item prefix and least count.
fn tighten_numbers_as_text(node: &mut Value) {
    let Value::Object(map) = node else { return };
    let types: Vec<String> = map
        .get("type")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    let range = map.get("minimum").and_then(Value::as_u64).zip(map.get("maximum").and_then(Value::as_u64));
    let number_or_text =
        types.len() >= 2 && types[..2] == ["integer", "string"] && types[2..].iter().all(|t| t == "null");
    if let (true, Some((min, max))) = (number_or_text, range) {
        map.insert("pattern".into(), json!(integer_pattern(min, max)));
    }
    if types == ["array", "string"] {
        let prefix = map.get("items").and_then(|i| i.get("pattern")).and_then(Value::as_str);
        let prefix = prefix.map(|p| p.trim_start_matches('^').trim_end_matches('.').to_owned()).unwrap_or_default();
        let least = map.get("minItems").and_then(Value::as_u64).unwrap_or(1).max(1);
        map.remove("minLength");
        let item = format!(r"\s*{prefix}[^,\s]([^,]*[^,\s])?\s*");
        map.insert("pattern".into(), json!(format!("^{item}(,{item}){{{},}}$", least - 1)));
    }
    for child in map.values_mut() {
        match child {
            Value::Array(items) => items.iter_mut().for_each(tighten_numbers_as_text),
            other => tighten_numbers_as_text(other),
        }
    }
}

/// Each object's own schema: its properties, by name.
pub fn properties(object: &Value) -> Option<&Map<String, Value>> {
    object.get("properties").and_then(Value::as_object)
}

/// The names an object requires.
pub fn required(object: &Value) -> Vec<&str> {
    object.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect()
}

/// Every property with its path (`Limits.MaxShards`), nested ones after their object.
pub fn flatten(schema: &Value) -> Vec<(String, &Value)> {
    fn walk<'a>(prefix: &str, object: &'a Value, out: &mut Vec<(String, &'a Value)>) {
        for (name, property) in properties(object).into_iter().flatten() {
            let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
            out.push((path.clone(), property));
            walk(&path, property, out);
        }
    }
    let mut out = Vec::new();
    walk("", schema, &mut out);
    out
}

/// The properties declared `refused` on Update (`x-on-update`), by path: what the provisioner compares with
/// what the existing ALBs and target groups were built with.
pub fn refused_properties() -> &'static [String] {
    static REFUSED: OnceLock<Vec<String>> = OnceLock::new();
    REFUSED.get_or_init(|| {
        flatten(json_schema())
            .into_iter()
            .filter(|(_, property)| OnUpdate::of(property) == OnUpdate::Refused)
            .map(|(path, _)| path)
            .collect()
    })
}

/// A property's value in a spec written as JSON (`Limits.MaxShards`).
pub fn pointer<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    value.pointer(&format!("/{}", path.replace('.', "/")))
}

/// An ECMA-262 pattern matching exactly the decimal numbers `min..=max` (no sign, no leading zeros).
pub fn integer_pattern(min: u64, max: u64) -> String {
    let mut parts = Vec::new();
    let mut low = min;
    while low <= max {
        let top = 10u64.pow(low.to_string().len() as u32) - 1;
        let high = max.min(top);
        parts.extend(same_length(&low.to_string(), &high.to_string()));
        if high == max {
            break;
        }
        low = high + 1;
    }
    format!("^({})$", parts.join("|"))
}

/// Patterns for the numbers from `a` to `b`, both of the same number of digits.
fn same_length(a: &str, b: &str) -> Vec<String> {
    if a == b {
        return vec![a.to_owned()];
    }
    let (a0, a_rest) = a.split_at(1);
    let (b0, b_rest) = b.split_at(1);
    if a0 == b0 {
        return same_length(a_rest, b_rest).into_iter().map(|p| format!("{a0}{p}")).collect();
    }
    let rest = a_rest.len();
    let (mut first, mut last) = (a.as_bytes()[0] - b'0', b.as_bytes()[0] - b'0');
    let mut out = Vec::new();
    if !a_rest.bytes().all(|c| c == b'0') {
        out.extend(same_length(a_rest, &"9".repeat(rest)).into_iter().map(|p| format!("{a0}{p}")));
        first += 1;
    }
    let mut tail = Vec::new();
    if !b_rest.bytes().all(|c| c == b'9') {
        tail.extend(same_length(&"0".repeat(rest), b_rest).into_iter().map(|p| format!("{b0}{p}")));
        last -= 1;
    }
    if first <= last {
        let class = if first == last { first.to_string() } else { format!("[{first}-{last}]") };
        let any = match rest {
            0 => String::new(),
            1 => "[0-9]".to_owned(),
            n => format!("[0-9]{{{n}}}"),
        };
        out.push(format!("{class}{any}"));
    }
    out.extend(tail);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_patterns_match_exactly_their_range() {
        let cases = [(1, 50), (0, 3600), (1, 604_800), (10, 100), (5, 300), (1, 65_535)];
        for (min, max) in cases {
            let pattern = integer_pattern(min, max);
            let accepts = |n: u64| {
                let text = n.to_string();
                pattern.trim_start_matches("^(").trim_end_matches(")$").split('|').any(|alt| matches(alt, &text))
            };
            for n in 0..=(max + 20).min(700_000) {
                assert_eq!(accepts(n), (min..=max).contains(&n), "{n} against {pattern}");
            }
        }
    }

    /// Matches the subset integer_pattern writes: digits, `[a-b]` and `[0-9]{n}`.
    fn matches(pattern: &str, text: &str) -> bool {
        let (mut p, mut t) = (pattern.as_bytes(), text.as_bytes());
        while let Some(&c) = p.first() {
            let (lo, hi, rest) = if c == b'[' { (p[1], p[3], &p[5..]) } else { (c, c, &p[1..]) };
            let (count, rest) = match rest.first() {
                Some(b'{') => {
                    let end = rest.iter().position(|&b| b == b'}').unwrap();
                    (std::str::from_utf8(&rest[1..end]).unwrap().parse().unwrap(), &rest[end + 1..])
                }
                _ => (1, rest),
            };
            for _ in 0..count {
                match t.first() {
                    Some(&d) if (lo..=hi).contains(&d) => t = &t[1..],
                    _ => return false,
                }
            }
            p = rest;
        }
        t.is_empty()
    }

    #[test]
    fn update_behaviour_is_declared_on_the_fields_aws_cannot_change() {
        let schema = json_schema();
        let declared: Vec<(String, OnUpdate)> = flatten(schema)
            .into_iter()
            .map(|(path, p)| (path, OnUpdate::of(p)))
            .filter(|(_, on)| matches!(on, OnUpdate::Refused | OnUpdate::NewFleet))
            .collect();
        let names: Vec<&str> = declared.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(names, ["FleetName", "VpcId", "Scheme", "TargetType", "TargetPort"]);
        assert_eq!(refused_properties(), ["VpcId", "Scheme", "TargetType", "TargetPort"]);
    }
}
