//! Deployment-wide settings: the one place Strata reads its environment. Fleet policy is not here: it lives in
//! the tags the provisioner writes (DESIGN.md §2), so one deployment serves every fleet.

use std::time::Duration;

pub const DRY_RUN: &str = "STRATA_DRY_RUN";
pub const ALIAS_TTL_SECONDS: &str = "STRATA_ALIAS_TTL_SECONDS";
pub const ALARM_TOPIC_ARN: &str = "STRATA_ALARM_TOPIC_ARN";
pub const SCALER_ARN: &str = "STRATA_SCALER_ARN";
pub const ANSWER_MARGIN_MS: &str = "STRATA_ANSWER_MARGIN_MS";
pub const TEST_PANIC: &str = "STRATA_TEST_PANIC";
pub const LOG: &str = "STRATA_LOG";
pub const ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";
pub const RETRY_MODE: &str = "AWS_RETRY_MODE";
pub const MAX_ATTEMPTS: &str = "AWS_MAX_ATTEMPTS";

/// Every variable read, for the configuration guide (a test holds the guide to it).
pub const VARIABLES: [&str; 10] = [
    DRY_RUN,
    ALIAS_TTL_SECONDS,
    ALARM_TOPIC_ARN,
    SCALER_ARN,
    ANSWER_MARGIN_MS,
    TEST_PANIC,
    LOG,
    ENDPOINT_URL,
    RETRY_MODE,
    MAX_ATTEMPTS,
];

/// The Strata variables each function reads (the deploy template gives each exactly these; `AWS_*` ones are
/// Lambda's and the SDK's). A function reads only its own: a variable missing here is never read, whatever
/// the environment holds, so this table is what the code reads.
pub fn variables_of(function: &str) -> &'static [&'static str] {
    match function {
        "provisioner" => &[LOG, ALARM_TOPIC_ARN, SCALER_ARN, ANSWER_MARGIN_MS, TEST_PANIC],
        "alb-scaler" => &[LOG, DRY_RUN, ALIAS_TTL_SECONDS, ALARM_TOPIC_ARN, SCALER_ARN],
        "asg-registrar" | "dns-rebalancer" => &[LOG, DRY_RUN],
        _ => &[],
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `STRATA_DRY_RUN=true`: the scaler, rebalancer and registrar plan and log, and change nothing.
    pub dry_run: bool,
    /// `STRATA_ALIAS_TTL_SECONDS` (60, what ELB alias answers carry): part of a drained shard's wait.
    pub alias_ttl_seconds: u32,
    /// The alarms' one action, so each transition reaches the scaler once: the stack's alarm topic
    /// (`STRATA_ALARM_TOPIC_ARN`), which the alb-scaler subscribes to, else the alb-scaler (`STRATA_SCALER_ARN`).
    pub alarm_action: Option<String>,
    /// `AWS_ENDPOINT_URL`: with an emulator, ResponseURLs on its host are accepted.
    pub endpoint: Option<String>,
    /// `STRATA_ANSWER_MARGIN_MS` (10 s): the provisioner answers FAILED this long before the Lambda deadline.
    pub answer_margin: Duration,
    /// `STRATA_TEST_PANIC=1`, a test hook only: the provisioner panics after the request was validated, so that
    /// a test can show the deployed (release) binary still answers CloudFormation.
    pub test_panic: bool,
    /// `STRATA_LOG` (`info`): the log filter.
    pub log_filter: String,
    /// Adaptive retries (client-side rate limiting on throttling) with `AWS_MAX_ATTEMPTS` (5) attempts, unless
    /// `AWS_RETRY_MODE` is set: then the SDK reads both itself (`None`).
    pub adaptive_retry_attempts: Option<u32>,
}

impl Settings {
    /// `function`'s settings: its own Strata variables (`variables_of`) and the standard `AWS_*` ones.
    pub fn from_env(function: &str) -> Self {
        let own = variables_of(function);
        Self::from_lookup(|name| (name.starts_with("AWS_") || own.contains(&name)).then(|| std::env::var(name).ok())?)
    }

    /// The settings from `lookup` (the environment, or a test's map); empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
        let number = |name: &str| get(name).and_then(|v| v.parse::<u64>().ok());
        Self {
            dry_run: get(DRY_RUN).is_some_and(|v| v.eq_ignore_ascii_case("true")),
            alias_ttl_seconds: number(ALIAS_TTL_SECONDS).and_then(|n| u32::try_from(n).ok()).unwrap_or(60),
            alarm_action: get(ALARM_TOPIC_ARN).or_else(|| get(SCALER_ARN)),
            endpoint: get(ENDPOINT_URL),
            answer_margin: Duration::from_millis(number(ANSWER_MARGIN_MS).unwrap_or(10_000)),
            test_panic: get(TEST_PANIC).is_some_and(|v| v == "1"),
            log_filter: get(LOG).unwrap_or_else(|| "info".to_owned()),
            adaptive_retry_attempts: match get(RETRY_MODE) {
                Some(_) => None,
                None => Some(number(MAX_ATTEMPTS).and_then(|n| u32::try_from(n).ok()).unwrap_or(5)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn every_variable_read_is_listed_and_defaults_hold() {
        let asked = RefCell::new(Vec::new());
        let defaults = Settings::from_lookup(|name| {
            asked.borrow_mut().push(name.to_owned());
            None
        });
        let mut asked = asked.into_inner();
        asked.sort();
        asked.dedup();
        let mut listed: Vec<String> = VARIABLES.iter().map(|v| (*v).to_owned()).collect();
        listed.sort();
        assert_eq!(asked, listed, "VARIABLES lists exactly what is read");
        assert!(!defaults.dry_run && defaults.alias_ttl_seconds == 60 && defaults.alarm_action.is_none());
        assert_eq!((defaults.answer_margin, defaults.adaptive_retry_attempts), (Duration::from_secs(10), Some(5)));
    }

    #[test]
    fn each_function_reads_only_strata_variables_that_exist() {
        for function in ["provisioner", "alb-scaler", "asg-registrar", "dns-rebalancer"] {
            assert!(variables_of(function).contains(&LOG), "{function}");
            assert!(variables_of(function).iter().all(|v| VARIABLES.contains(v)), "{function}");
        }
    }

    #[test]
    fn the_alarm_topic_wins_over_the_scaler_and_empty_values_are_unset() {
        let env: BTreeMap<&str, &str> = [
            (ALARM_TOPIC_ARN, "arn:aws:sns:us-east-1:1:topic"),
            (SCALER_ARN, "arn:aws:lambda:us-east-1:1:function:scaler"),
            (DRY_RUN, "TRUE"),
            (LOG, ""),
            (RETRY_MODE, "standard"),
        ]
        .into();
        let settings = Settings::from_lookup(|name| env.get(name).map(|v| (*v).to_owned()));
        assert_eq!(settings.alarm_action.as_deref(), Some("arn:aws:sns:us-east-1:1:topic"));
        assert!(settings.dry_run);
        assert_eq!(settings.log_filter, "info");
        assert_eq!(settings.adaptive_retry_attempts, None, "AWS_RETRY_MODE set: the SDK's own");
    }
}
