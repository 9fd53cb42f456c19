//! One error type for the core crate; messages say what is wrong and what to do.

use std::fmt;

use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// One bad field of a spec or an event, by its path (`Limits.MaxShards`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub problem: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self { field: field.into(), problem: problem.into() }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

/// Every bad field at once, so one failed deployment shows them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn fields(&self) -> Vec<&str> {
        self.0.iter().map(|e| e.field.as_str()).collect()
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join("; "))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StrataError {
    #[error("invalid fleet spec ({count} bad field(s)): {0}", count = .0.0.len())]
    InvalidSpec(FieldErrors),
    #[error("invalid event: {0}")]
    InvalidEvent(String),
    #[error("configuration: {0}")]
    Config(String),
    /// `code`: AWS's error code where AWS gave one (what code matches on; `message` is for people).
    #[error("{message} ({service} {operation})")]
    Aws { service: &'static str, operation: &'static str, code: Option<String>, message: String },
    #[error("refused: {0}")]
    Refused(String),
    /// The fleet name is held by another custom resource (or by one made before owners were written).
    #[error("not the owner: {0}")]
    NotOwner(String),
    /// A pass over many fleets in which some failed (the others were done).
    #[error("{0}")]
    FleetsFailed(String),
}

impl StrataError {
    /// An AWS error naming what the call was about (`HostedZoneId Z0123: NoSuchHostedZone: ...`), where AWS's
    /// own message may not; other errors are returned as they are.
    pub fn about(self, subject: impl fmt::Display) -> Self {
        match self {
            Self::Aws { service, operation, code, message } => {
                Self::Aws { service, operation, code, message: format!("{subject}: {message}") }
            }
            other => other,
        }
    }

    /// AWS's error code of a failed call, if AWS gave one.
    pub fn aws_code(&self) -> Option<&str> {
        match self {
            Self::Aws { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// A short machine-readable kind, used as the Lambda `errorType`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidSpec(_) => "InvalidSpec",
            Self::InvalidEvent(_) => "InvalidEvent",
            Self::Config(_) => "Config",
            Self::Aws { .. } => "AwsError",
            Self::Refused(_) => "Refused",
            Self::NotOwner(_) => "NotOwner",
            Self::FleetsFailed(_) => "FleetsFailed",
        }
    }
}

/// The longest AWS message kept in an error: the Reason CloudFormation shows and a log line stay readable.
const MAX_AWS_MESSAGE: usize = 300;

/// Wraps an SDK error with the call that failed, as an operator reads it: the service's error code and message
/// (`NoSuchHostedZone: No hosted zone found with ID: Z0123`), or for an error without a code (timeout, dispatch
/// failure) its Display chain; never the Debug form of the whole SDK error and its HTTP response.
pub fn aws_error<E>(service: &'static str, operation: &'static str, err: E) -> StrataError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
{
    StrataError::Aws { service, operation, code: err.code().map(str::to_owned), message: readable(&err) }
}

fn readable<E: std::error::Error + ProvideErrorMetadata>(err: &E) -> String {
    let text = match (err.code(), err.message().filter(|m| !m.trim().is_empty())) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        (None, _) => display_chain(err),
    };
    shorten(text.trim(), MAX_AWS_MESSAGE)
}

/// `outer: cause: root cause`, skipping a cause whose text its parent already shows.
fn display_chain(err: &dyn std::error::Error) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max).collect();
    format!("{cut}...")
}

pub type Result<T, E = StrataError> = std::result::Result<T, E>;

/// What the Lambda Runtime API receives on failure: `errorType` is the kind, `errorMessage` the reason.
impl From<StrataError> for lambda_runtime::Diagnostic {
    fn from(err: StrataError) -> Self {
        Self { error_type: err.kind().to_owned(), error_message: err.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    #[derive(Debug)]
    struct Fake(ErrorMetadata, Option<Box<dyn std::error::Error + Send + Sync>>);
    impl fmt::Display for Fake {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("dispatch failure")
        }
    }
    impl std::error::Error for Fake {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
        }
    }
    impl ProvideErrorMetadata for Fake {
        fn meta(&self) -> &ErrorMetadata {
            &self.0
        }
    }

    #[test]
    fn a_service_error_reads_as_code_message_and_call() {
        let meta =
            ErrorMetadata::builder().code("NoSuchHostedZone").message("No hosted zone found with ID: Z0123").build();
        let err = aws_error("route53", "ListResourceRecordSets", Fake(meta, None)).about("HostedZoneId Z0123");
        assert_eq!(
            err.to_string(),
            "HostedZoneId Z0123: NoSuchHostedZone: No hosted zone found with ID: Z0123 (route53 ListResourceRecordSets)"
        );
    }

    #[test]
    fn an_error_without_a_code_reads_as_its_display_chain_and_a_long_message_is_cut() {
        let cause: Box<dyn std::error::Error + Send + Sync> = "connection refused".into();
        let err = aws_error("elbv2", "DescribeLoadBalancers", Fake(ErrorMetadata::default(), Some(cause)));
        assert_eq!(err.to_string(), "dispatch failure: connection refused (elbv2 DescribeLoadBalancers)");
        let meta = ErrorMetadata::builder().code("ValidationError").message("x".repeat(5000)).build();
        let long = aws_error("elbv2", "ModifyLoadBalancerAttributes", Fake(meta, None)).to_string();
        assert!(long.len() < 400, "{} chars", long.len());
    }
}
