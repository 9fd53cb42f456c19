//! The property reference of `docs/configuration.md`, written from the JSON Schema (so from `FleetSpec`).

use serde_json::Value;

use super::schema::{self, OnUpdate, flatten, properties};

/// The reference (the part of `docs/configuration.md` between the generated-section markers).
pub fn markdown_reference() -> String {
    let root = schema::json_schema();
    let mut out = String::from("| Property | Type | Default | Allowed | On Update |\n|---|---|---|---|---|\n");
    let flat = flatten(root);
    for (path, p) in &flat {
        let (parent, name) = match path.rsplit_once('.') {
            Some((parent, name)) => (flat.iter().find(|(p, _)| p == parent).map_or(root, |(_, s)| *s), name),
            None => (root, path.as_str()),
        };
        let required = schema::required(parent).contains(&name);
        out.push_str(&format!(
            "| [`{path}`](#{}) | {} | {} | {} | {} |\n",
            anchor(path),
            kind_name(p),
            default_text(path, p, required),
            allowed(p).replace('|', "\\|"),
            OnUpdate::of(p).describe()
        ));
    }
    out.push_str(
        "\nAt least one of `AutoScalingGroupNames` (non-empty) and `AutoScalingGroupTag` (with `Key` and `Value`) \
         must select the fleet's ASGs. Unknown properties, at any level, are refused by name.\n",
    );
    for (path, p) in &flat {
        let title = p.get("title").and_then(Value::as_str);
        let description = p.get("description").and_then(Value::as_str).unwrap_or_default();
        let text = title.into_iter().chain([description]).flat_map(str::split_whitespace).collect::<Vec<_>>().join(" ");
        out.push_str(&format!("\n### `{path}`\n\n{}\n", text.trim()));
        if OnUpdate::of(p) == OnUpdate::Refused {
            out.push_str(
                "\n**Update:** refused. The provisioner answers FAILED (\"AWS cannot change these in place: …\") and \
                 CloudFormation rolls the stack back; to change it, give the fleet a new `FleetName`.\n",
            );
        }
    }
    out
}

/// The anchor GitHub gives the heading ``### `Limits.MaxShards` ``.
fn anchor(path: &str) -> String {
    path.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase()
}

/// The JSON type, from the form that is not text (numbers and booleans also come as text).
fn native_type(p: &Value) -> Option<&str> {
    let forms = p.get("oneOf").and_then(Value::as_array);
    let first = forms.and_then(|f| f.first()).unwrap_or(p);
    match first.get("type")? {
        Value::String(name) => Some(name),
        // An optional property: `["string", "null"]`.
        Value::Array(names) => names.iter().filter_map(Value::as_str).find(|n| *n != "null"),
        _ => None,
    }
}

fn kind_name(p: &Value) -> &'static str {
    match native_type(p) {
        Some("boolean") => return "boolean",
        _ if p.get("enum").is_some() || p.get("oneOf").is_some() => return "choice",
        _ => {}
    }
    match native_type(p) {
        Some("string") => "text",
        Some("array") => "list",
        Some("integer") => "integer",
        Some("boolean") => "boolean",
        Some("object") => "object",
        _ => "any",
    }
}

fn allowed(p: &Value) -> String {
    let mut parts = Vec::new();
    match kind_name(p) {
        "choice" => parts.push(choices(p).iter().map(|w| format!("`{w}`")).collect::<Vec<_>>().join(", ")),
        "integer" => {
            let bound = |key| p.get(key).and_then(Value::as_u64).map(thousands).unwrap_or_default();
            parts.push(format!("{} to {}", bound("minimum"), bound("maximum")));
        }
        "boolean" => parts.push("`true`, `false`".to_owned()),
        "list" if p.pointer("/items/properties").is_some() => {
            let names: Vec<&str> =
                p.get("items").and_then(properties).into_iter().flatten().map(|(k, _)| k.as_str()).collect();
            let most = p.get("maxItems").and_then(Value::as_u64).map(|n| format!(", at most {n}")).unwrap_or_default();
            parts.push(format!("a list of `{{ {} }}`{most}", names.join(", ")));
        }
        "list" => {
            let pattern = p.pointer("/items/pattern").and_then(Value::as_str);
            let what = match pattern.and_then(|s| s.strip_prefix('^')).map(|s| s.trim_end_matches('.')) {
                Some(prefix) => format!("ids `{prefix}…`"),
                None => "names".to_owned(),
            };
            let least =
                p.get("minItems").and_then(Value::as_u64).map(|n| format!(", at least {n}")).unwrap_or_default();
            parts.push(format!("{what}{least}, none twice; a list or one comma-separated string"));
        }
        "object" => {
            let names: Vec<&str> = properties(p).into_iter().flatten().map(|(k, _)| k.as_str()).collect();
            parts.push(format!("an object: `{{ {} }}`", names.join(", ")));
        }
        "any" => parts.push("anything (not read)".to_owned()),
        _ if p.get("x-rule").is_some() => {}
        _ => {
            if let Some(pattern) = p.get("pattern").and_then(Value::as_str).filter(|_| p.get("x-rule").is_none()) {
                let prefix = pattern.strip_prefix('^').and_then(|p| p.strip_suffix('.'));
                match prefix.filter(|p| p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'/')) {
                    Some(prefix) => parts.push(format!("starts with `{prefix}`")),
                    None => parts.push(format!("matches `{pattern}`")),
                }
            }
            if let Some(max) = p.get("maxLength").and_then(Value::as_u64) {
                parts.push(format!("at most {} characters", thousands(max)));
            }
        }
    }
    if let Some(rule) = p.get("x-rule").and_then(Value::as_str) {
        parts.push(rule.to_owned());
    }
    if parts.is_empty() { "any non-empty text".to_owned() } else { parts.join("; ") }
}

/// The words of a choice: an `enum`, or a `oneOf` of `const`s (variants with doc comments).
fn choices(p: &Value) -> Vec<&str> {
    if let Some(values) = p.get("enum").and_then(Value::as_array) {
        return values.iter().filter_map(Value::as_str).collect();
    }
    let forms = p.get("oneOf").and_then(Value::as_array).into_iter().flatten();
    forms.filter_map(|f| f.get("const").and_then(Value::as_str)).collect()
}

fn default_text(path: &str, p: &Value, required: bool) -> String {
    match p.get("default") {
        Some(Value::String(s)) => format!("`{s}`"),
        Some(Value::Number(n)) => format!("`{n}`"),
        Some(Value::Bool(b)) => format!("`{b}`"),
        _ if required => "required".to_owned(),
        _ if path.starts_with("AutoScalingGroup") && !path.contains('.') => "this or the other ASG selector".to_owned(),
        _ => "—".to_owned(),
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    if digits.len() <= 4 {
        return digits;
    }
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
