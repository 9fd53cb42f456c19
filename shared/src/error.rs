//! One error type for the core crate; messages say what is wrong and what to do.

use std::fmt;

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
    #[error("AWS {service} {operation} failed: {message}")]
    Aws { service: &'static str, operation: &'static str, message: String },
    #[error("refused: {0}")]
    Refused(String),
}

impl StrataError {
    /// A short machine-readable kind, used as the Lambda `errorType`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidSpec(_) => "InvalidSpec",
            Self::InvalidEvent(_) => "InvalidEvent",
            Self::Config(_) => "Config",
            Self::Aws { .. } => "AwsError",
            Self::Refused(_) => "Refused",
        }
    }
}

/// Wraps an SDK error with the call that failed, keeping the service's own error code and message.
pub fn aws_error<E>(service: &'static str, operation: &'static str, err: E) -> StrataError
where
    E: std::error::Error + 'static,
{
    let message = aws_smithy_types::error::display::DisplayErrorContext(&err).to_string();
    StrataError::Aws { service, operation, message }
}

pub type Result<T, E = StrataError> = std::result::Result<T, E>;

/// What the Lambda Runtime API receives on failure: `errorType` is the kind, `errorMessage` the reason.
impl From<StrataError> for lambda_runtime::Diagnostic {
    fn from(err: StrataError) -> Self {
        Self { error_type: err.kind().to_owned(), error_message: err.to_string() }
    }
}
