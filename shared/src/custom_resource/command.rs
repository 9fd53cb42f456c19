//! What a custom-resource request asks of the provisioner, decided before any AWS call: converge a fleet,
//! delete one, or answer at once (a request refused, a Delete of something never made). Pure, so that every
//! id and refusal rule is tested without AWS.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{CustomResourceRequest, CustomResourceResponse, RequestType};
use crate::events::arn_account;
use crate::model::DnsLocation;
use crate::names::{FleetName, Owner};
use crate::policy::check_tag_budget;
use crate::spec::{AsgSelector, FleetSpec};

#[derive(Debug, Clone, PartialEq)]
pub enum FleetCommand {
    /// Create or Update: the fleet brought to `spec`.
    Converge {
        spec: Box<FleetSpec>,
        owner: Owner,
        /// An Update of the fleet its PhysicalResourceId names may take it if it was made before owners were
        /// written; a Create, or an Update to another FleetName, takes only a name nobody holds.
        may_claim: bool,
        /// A failed Create removes what it made, so that CloudFormation's rollback leaves nothing behind.
        roll_back_on_failure: bool,
        physical_resource_id: String,
    },
    /// Delete: the fleet the PhysicalResourceId names, with its zone and ASGs when the properties give them.
    Delete { fleet: FleetName, dns: Option<DnsLocation>, asgs: Option<AsgSelector>, owner: Owner },
    /// Answered without any AWS call.
    Answer(CustomResourceResponse),
}

/// The command a request is, for a provisioner in `region` whose own ARN is `function_arn`.
pub fn command_of(request: &CustomResourceRequest, region: &str, function_arn: &str) -> FleetCommand {
    let owner = Owner::new(&request.stack_id, &request.logical_resource_id);
    match (foreign_account(request, function_arn), request.request_type) {
        // Another account never created anything here (its Create was refused): its Delete, a rollback's
        // included, succeeds without touching anything, so that its stack is not stuck in DELETE_FAILED.
        (Some(reason), RequestType::Delete) => FleetCommand::Answer(CustomResourceResponse {
            success: true,
            reason: format!("nothing to delete: {reason}"),
            physical_resource_id: fallback_physical_id(request, region),
            data: json!({}),
        }),
        (Some(reason), _) => FleetCommand::Answer(failed(request, region, reason)),
        (None, RequestType::Delete) => delete_command(request, region, owner),
        (None, request_type) => {
            let spec = match FleetSpec::from_properties(&request.properties) {
                Ok(spec) => spec,
                Err(err) => return FleetCommand::Answer(failed(request, region, err.to_string())),
            };
            if let Err(err) = check_tag_budget(&spec) {
                return FleetCommand::Answer(failed(request, region, format!("invalid fleet spec: {err}")));
            }
            let named = request.physical_resource_id.as_deref().and_then(|id| fleet_of_physical_id(id, region));
            FleetCommand::Converge {
                may_claim: request_type == RequestType::Update && named.as_ref() == Some(&spec.fleet),
                roll_back_on_failure: request_type == RequestType::Create,
                physical_resource_id: physical_id(spec.fleet.as_str(), region),
                spec: Box::new(spec),
                owner,
            }
        }
    }
}

/// The zone comes from the properties when they parse, else from the shards' own policy tags: a Delete needs
/// no valid properties (CloudFormation sends the last ones, which may be the very ones that failed).
fn delete_command(request: &CustomResourceRequest, region: &str, owner: Owner) -> FleetCommand {
    let id = request.physical_resource_id.clone().unwrap_or_default();
    let Some(fleet) = fleet_of_physical_id(&id, region) else {
        return FleetCommand::Answer(done(&id, "nothing to delete: this resource was never created"));
    };
    let spec = FleetSpec::from_properties(&request.properties).ok().filter(|s| s.fleet == fleet);
    let text = |key: &str| request.properties.get(key).and_then(Value::as_str).map(str::to_owned);
    let dns = match (&spec, text("HostedZoneId"), text("Domain")) {
        (Some(spec), _, _) => {
            Some(DnsLocation { hosted_zone_id: spec.hosted_zone_id.clone(), domain: spec.domain.clone() })
        }
        (None, Some(hosted_zone_id), Some(domain)) => Some(DnsLocation { hosted_zone_id, domain }),
        _ => None,
    };
    FleetCommand::Delete { fleet, dns, asgs: spec.map(|s| s.asgs()), owner }
}

/// A request from a stack of another account than this function's own is refused.
fn foreign_account(request: &CustomResourceRequest, function_arn: &str) -> Option<String> {
    let ours = arn_account(function_arn)?;
    match arn_account(&request.stack_id) {
        Some(theirs) if theirs == ours => None,
        Some(theirs) => Some(format!("the stack is in account {theirs}; this provisioner serves account {ours} only")),
        None => Some("StackId is not a CloudFormation stack ARN".into()),
    }
}

pub fn physical_id(fleet: &str, region: &str) -> String {
    format!("strata:{fleet}:{region}")
}

/// The fleet a PhysicalResourceId names in this region, if it is one of Strata's.
pub fn fleet_of_physical_id(id: &str, region: &str) -> Option<FleetName> {
    let rest = id.strip_prefix("strata:")?;
    let (fleet, id_region) = rest.split_once(':')?;
    (id_region == region).then(|| FleetName::parse(fleet).ok()).flatten()
}

pub fn done(physical_resource_id: &str, reason: &str) -> CustomResourceResponse {
    CustomResourceResponse {
        success: true,
        reason: reason.to_owned(),
        physical_resource_id: physical_resource_id.to_owned(),
        data: json!({}),
    }
}

pub fn failed(request: &CustomResourceRequest, region: &str, reason: String) -> CustomResourceResponse {
    CustomResourceResponse {
        success: false,
        reason,
        physical_resource_id: fallback_physical_id(request, region),
        data: json!({}),
    }
}

/// The id to answer a failure with when no fleet was touched: the one CloudFormation sent (Update), or for a
/// Create one that names no fleet, so that the rollback Delete CloudFormation sends maps to nothing, succeeds,
/// and can never take a fleet of the same name that another custom resource holds.
pub fn fallback_physical_id(request: &CustomResourceRequest, region: &str) -> String {
    match &request.physical_resource_id {
        Some(id) => id.clone(),
        None => format!("strata-failed:{region}:{}", request.request_id),
    }
}

/// A Create cut short after it passed the owner check may have made resources: answer the fleet's own id, so
/// that CloudFormation's rollback Delete removes them. Before that check, nothing was made.
pub fn timeout_physical_id(request: &CustomResourceRequest, region: &str, fleet_taken: bool) -> String {
    let fleet = request.properties.get("FleetName").and_then(Value::as_str).and_then(|f| FleetName::parse(f).ok());
    match fleet.filter(|_| fleet_taken && request.physical_resource_id.is_none()) {
        Some(fleet) => physical_id(fleet.as_str(), region),
        None => fallback_physical_id(request, region),
    }
}

/// What the provisioner answers the Lambda runtime, beside the answer it PUTs to CloudFormation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProvisionerReport {
    pub status: AnswerStatus,
    pub physical_resource_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AnswerStatus {
    Success,
    Failed,
}

impl From<&CustomResourceResponse> for ProvisionerReport {
    fn from(response: &CustomResourceResponse) -> Self {
        Self {
            status: if response.success { AnswerStatus::Success } else { AnswerStatus::Failed },
            physical_resource_id: response.physical_resource_id.clone(),
            reason: response.reason.clone(),
        }
    }
}

#[cfg(test)]
mod tests;
