//! Reads CloudFormation resource properties, where every scalar may arrive as a string ("300", "false"),
//! collecting every bad field instead of stopping at the first.

use std::collections::BTreeSet;
use std::ops::RangeInclusive;
use std::str::FromStr;

use serde_json::{Map, Value};

use crate::error::FieldError;

pub struct PropertyReader<'a> {
    props: &'a Map<String, Value>,
    path: String,
    seen: BTreeSet<String>,
    pub errors: &'a mut Vec<FieldError>,
}

impl<'a> PropertyReader<'a> {
    pub fn new(props: &'a Map<String, Value>, path: &str, errors: &'a mut Vec<FieldError>) -> Self {
        Self { props, path: path.to_owned(), seen: BTreeSet::new(), errors }
    }

    fn field(&self, key: &str) -> String {
        if self.path.is_empty() { key.to_owned() } else { format!("{}.{key}", self.path) }
    }

    pub fn fail(&mut self, key: &str, problem: impl Into<String>) {
        let field = self.field(key);
        self.errors.push(FieldError::new(field, problem));
    }

    fn take(&mut self, key: &str) -> Option<&'a Value> {
        self.seen.insert(key.to_owned());
        self.props.get(key).filter(|v| !v.is_null())
    }

    /// Marks a key as known without reading it (CloudFormation's own `ServiceToken`).
    pub fn ignore(&mut self, key: &str) {
        self.seen.insert(key.to_owned());
    }

    pub fn optional_string(&mut self, key: &str) -> Option<String> {
        match self.take(key)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Value::String(_) => {
                self.fail(key, "must not be empty");
                None
            }
            Value::Number(n) => Some(n.to_string()),
            other => {
                self.fail(key, format!("must be a string, got {}", kind(other)));
                None
            }
        }
    }

    pub fn required_string(&mut self, key: &str) -> Option<String> {
        let present = self.props.get(key).is_some_and(|v| !v.is_null());
        let value = self.optional_string(key);
        if !present {
            self.fail(key, "is required");
        }
        value
    }

    /// A required string that must start with `prefix` (an AWS id such as `vpc-`).
    pub fn required_id(&mut self, key: &str, prefix: &str) -> Option<String> {
        let value = self.required_string(key)?;
        if value.starts_with(prefix) {
            Some(value)
        } else {
            self.fail(key, format!("{value:?} must start with {prefix:?}"));
            None
        }
    }

    pub fn string_list(&mut self, key: &str, prefix: &str) -> Vec<String> {
        let items = match self.take(key) {
            None => return Vec::new(),
            Some(Value::Array(items)) => items.clone(),
            // CloudFormation passes a CommaDelimitedList parameter through as one string.
            Some(Value::String(s)) => s.split(',').map(|p| Value::String(p.trim().to_owned())).collect(),
            Some(other) => {
                self.fail(key, format!("must be a list of strings, got {}", kind(other)));
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match item.as_str().map(str::trim) {
                Some(s) if s.starts_with(prefix) && s.len() > prefix.len() => out.push(s.to_owned()),
                Some(s) => self.fail(&format!("{key}[{i}]"), format!("{s:?} must start with {prefix:?}")),
                None => self.fail(&format!("{key}[{i}]"), format!("must be a string, got {}", kind(item))),
            }
        }
        let unique: BTreeSet<&String> = out.iter().collect();
        if unique.len() != out.len() {
            self.fail(key, "lists the same id twice");
        }
        out
    }

    pub fn number<T>(&mut self, key: &str, default: T, range: RangeInclusive<T>) -> T
    where
        T: FromStr + PartialOrd + Copy + std::fmt::Display,
    {
        let parsed = match self.take(key) {
            None => return default,
            Some(Value::Number(n)) => n.to_string().parse::<T>().ok(),
            Some(Value::String(s)) => s.trim().parse::<T>().ok(),
            Some(_) => None,
        };
        match parsed {
            Some(v) if range.contains(&v) => v,
            _ => {
                let got = self.props.get(key).map(|v| v.to_string()).unwrap_or_default();
                self.fail(key, format!("must be a number from {} to {}, got {got}", range.start(), range.end()));
                default
            }
        }
    }

    pub fn boolean(&mut self, key: &str, default: bool) -> bool {
        match self.take(key) {
            None => default,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
            Some(other) => {
                self.fail(key, format!("must be true or false, got {other}"));
                default
            }
        }
    }

    /// One of a fixed set of words (case as AWS writes them).
    pub fn choice<T: Copy>(&mut self, key: &str, default: T, choices: &[(&str, T)]) -> T {
        let Some(raw) = self.optional_string(key) else { return default };
        match choices.iter().find(|(name, _)| *name == raw) {
            Some((_, value)) => *value,
            None => {
                let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
                self.fail(key, format!("{raw:?} must be one of {}", names.join(", ")));
                default
            }
        }
    }

    /// A nested object, read by `read` with its own path; absent means "all defaults".
    pub fn object<T>(&mut self, key: &str, read: impl FnOnce(&mut PropertyReader<'_>) -> T) -> T {
        let empty = Map::new();
        let map = match self.take(key) {
            Some(Value::Object(map)) => map,
            None => &empty,
            Some(other) => {
                self.fail(key, format!("must be an object, got {}", kind(other)));
                &empty
            }
        };
        let path = self.field(key);
        let mut nested = PropertyReader::new(map, &path, self.errors);
        let value = read(&mut nested);
        nested.finish();
        value
    }

    /// Unknown keys are an error that names them (a typo must not silently become a default).
    pub fn finish(self) {
        for key in self.props.keys().filter(|k| !self.seen.contains(*k)) {
            let field = if self.path.is_empty() { key.clone() } else { format!("{}.{key}", self.path) };
            self.errors.push(FieldError::new(field, "is not a known property"));
        }
    }
}

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
