//! How CloudFormation sends a custom resource's properties: every scalar may arrive as a string ("300",
//! "false"), and a `CommaDelimitedList` parameter passed through arrives as one comma-separated string. These
//! `serde_as` adapters accept both forms and describe both in the JSON Schema.

use std::borrow::Cow;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{DeserializeOwned, Error};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_with::schemars_1::JsonSchemaAs;
use serde_with::{DeserializeAs, SerializeAs};

/// A number (or a boolean) as JSON or as its string form.
pub struct Scalar;

/// Non-empty text, trimmed; a JSON number is read as its text.
pub struct Text;

/// A list of non-empty strings, or one comma-separated string; items trimmed.
pub struct List;

/// A value's JSON kind, for messages that must not echo what may be large.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn shown(text: &str) -> String {
    if text.len() <= 64 { format!("{text:?}") } else { format!("a text of {} bytes", text.len()) }
}

impl<'de, T: DeserializeOwned + FromStr + Expected> DeserializeAs<'de, T> for Scalar {
    fn deserialize_as<D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let parsed = match &value {
            // "True" too: a YAML template may quote a boolean in any case.
            Value::String(s) => s.trim().to_ascii_lowercase().parse::<T>().ok(),
            Value::Number(_) | Value::Bool(_) => T::deserialize(&value).ok(),
            _ => None,
        };
        parsed.ok_or_else(|| {
            let got = match &value {
                Value::String(s) => shown(s),
                Value::Number(n) => n.to_string(),
                other => kind(other).to_owned(),
            };
            D::Error::custom(format!("must be a {}, got {got}", <T as Expected>::what()))
        })
    }
}

/// What a scalar adapter calls the value it expects.
pub trait Expected {
    fn what() -> &'static str;
}

macro_rules! whole_numbers {
    ($($t:ty),*) => {$(impl Expected for $t { fn what() -> &'static str { "whole number" } })*};
}
whole_numbers!(u8, u16, u32, u64);

impl Expected for bool {
    fn what() -> &'static str {
        "boolean (true or false)"
    }
}

impl<T: Serialize> SerializeAs<T> for Scalar {
    fn serialize_as<S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
        value.serialize(serializer)
    }
}

impl<T: JsonSchema> JsonSchemaAs<T> for Scalar {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("CfnScalar<{}>", T::schema_name()).into()
    }

    /// Both forms in one schema (`"type": ["integer", "string"]`), so that garde's range lands on the number
    /// (schema.rs then gives the text form the same range as a pattern).
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        match T::json_schema(generator).get("type").and_then(Value::as_str) {
            Some("boolean") => json_schema!({
                "type": ["boolean", "string"],
                "pattern": "^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$",
            }),
            Some(native) => json_schema!({"type": [native, "string"], "pattern": "^[0-9]+$"}),
            None => json_schema!({}),
        }
    }
}

fn text_of(value: Value) -> Result<String, String> {
    match value {
        Value::String(s) if s.trim().is_empty() => Err("must not be empty".to_owned()),
        Value::String(s) => Ok(s.trim().to_owned()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(format!("must be a string, got {}", kind(&other))),
    }
}

impl<'de> DeserializeAs<'de, String> for Text {
    fn deserialize_as<D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        text_of(Value::deserialize(deserializer)?).map_err(D::Error::custom)
    }
}

impl SerializeAs<String> for Text {
    fn serialize_as<S: Serializer>(value: &String, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(value)
    }
}

impl JsonSchemaAs<String> for Text {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "CfnText".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "minLength": 1})
    }
}

impl<'de> DeserializeAs<'de, Vec<String>> for List {
    fn deserialize_as<D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
        let items = match Value::deserialize(deserializer)? {
            Value::Array(items) => items,
            Value::String(s) => s.split(',').map(|item| Value::String(item.to_owned())).collect(),
            other => return Err(D::Error::custom(format!("must be a list of strings, got {}", kind(&other)))),
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            out.push(text_of(item).map_err(|problem| D::Error::custom(format!("item {i} {problem}")))?);
        }
        Ok(out)
    }
}

impl SerializeAs<Vec<String>> for List {
    fn serialize_as<S: Serializer>(value: &Vec<String>, serializer: S) -> Result<S::Ok, S::Error> {
        value.serialize(serializer)
    }
}

impl JsonSchemaAs<Vec<String>> for List {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "CfnList".into()
    }

    /// A list, or its items in one comma-separated string (schema.rs writes the string's pattern).
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": ["array", "string"], "items": {"type": "string", "minLength": 1}, "uniqueItems": true})
    }
}
