//! CloudWatch Embedded Metric Format: one JSON log line that CloudWatch Logs turns into metrics.
//! https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html

use std::io::Write;

use serde_json::{Map, Value, json};

/// At most 100 metrics per EMF document (the specification's limit).
const MAX_METRICS_PER_LINE: usize = 100;
pub const NAMESPACE: &str = "Strata";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricUnit {
    Count,
    Percent,
    None,
}

impl MetricUnit {
    fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Percent => "Percent",
            Self::None => "None",
        }
    }
}

/// Metrics of one invocation, under one set of dimensions (e.g. Function, Fleet).
#[derive(Debug, Clone)]
pub struct Metrics {
    dimensions: Vec<(String, String)>,
    values: Vec<(String, MetricUnit, f64)>,
}

impl Metrics {
    pub fn new(dimensions: &[(&str, &str)]) -> Self {
        let dimensions = dimensions.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Self { dimensions, values: Vec::new() }
    }

    /// Records a value; the same name again replaces it (EMF forbids duplicate names in one document).
    pub fn put(&mut self, name: &str, value: f64, unit: MetricUnit) {
        self.values.retain(|(n, _, _)| n != name);
        self.values.push((name.to_owned(), unit, value));
    }

    pub fn count(&mut self, name: &str, value: u64) {
        self.put(name, value as f64, MetricUnit::Count);
    }

    /// The EMF documents (one per 100 metrics), as of `timestamp_ms`.
    pub fn documents(&self, timestamp_ms: i64) -> Vec<Value> {
        let dimension_names: Vec<&str> = self.dimensions.iter().map(|(k, _)| k.as_str()).collect();
        self.values
            .chunks(MAX_METRICS_PER_LINE)
            .map(|chunk| {
                let definitions: Vec<Value> = chunk.iter().map(|(n, u, _)| json!({"Name": n, "Unit": u.as_str()})).collect();
                let mut doc = Map::new();
                doc.insert(
                    "_aws".into(),
                    json!({
                        "Timestamp": timestamp_ms,
                        "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [dimension_names], "Metrics": definitions}]
                    }),
                );
                for (k, v) in &self.dimensions {
                    doc.insert(k.clone(), Value::String(v.clone()));
                }
                for (n, _, v) in chunk {
                    doc.insert(n.clone(), json!(v));
                }
                Value::Object(doc)
            })
            .collect()
    }

    /// Writes the documents as lines (stdout in Lambda, which CloudWatch Logs reads).
    pub fn emit_to(&self, out: &mut impl Write, timestamp_ms: i64) -> std::io::Result<()> {
        for doc in self.documents(timestamp_ms) {
            writeln!(out, "{doc}")?;
        }
        Ok(())
    }

    pub fn emit(&self) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let _ = self.emit_to(&mut std::io::stdout().lock(), now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_line_follows_the_specification() {
        let mut metrics = Metrics::new(&[("Function", "alb-scaler"), ("Fleet", "web")]);
        metrics.count("ShardsCreated", 1);
        metrics.put("Imbalance", 1.5, MetricUnit::None);
        let mut out = Vec::new();
        metrics.emit_to(&mut out, 1_700_000_000_000).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 1, "one document, one line");
        let doc: Value = serde_json::from_str(text.trim()).unwrap();
        let aws = &doc["_aws"];
        assert_eq!(aws["Timestamp"], 1_700_000_000_000i64);
        let directive = &aws["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Strata");
        assert_eq!(directive["Dimensions"], json!([["Function", "Fleet"]]));
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "ShardsCreated", "Unit": "Count"}, {"Name": "Imbalance", "Unit": "None"}])
        );
        // Every dimension and metric named in the directive is a root member with its value.
        assert_eq!(doc["Function"], "alb-scaler");
        assert_eq!(doc["Fleet"], "web");
        assert_eq!(doc["ShardsCreated"], 1.0);
        assert_eq!(doc["Imbalance"], 1.5);
    }

    #[test]
    fn more_than_100_metrics_split_into_documents_and_names_stay_unique() {
        let mut metrics = Metrics::new(&[("Fleet", "web")]);
        for i in 0..150 {
            metrics.count(&format!("Weight.s{i}"), i);
        }
        metrics.count("Weight.s0", 7);
        let docs = metrics.documents(0);
        assert_eq!(docs.len(), 2);
        let defined: usize =
            docs.iter().map(|d| d["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array().unwrap().len()).sum();
        assert_eq!(defined, 150);
        assert!(docs.iter().any(|d| d["Weight.s0"] == 7.0));
    }
}
