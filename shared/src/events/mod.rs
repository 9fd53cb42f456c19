//! Event decoding: every trigger shape a function accepts, turned into a small domain command.
//! An event that is not for Strata decodes to an `Ignored` reason (logged, not an error); an event that is
//! malformed is an `InvalidEvent` error, decided before any AWS call.

use aws_lambda_events::cloudwatch_alarms::{CloudWatchAlarm, CloudWatchAlarmData, CloudWatchAlarmStateValue};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::sns::SnsEvent;
use serde_json::Value;

use crate::error::{Result, StrataError};
use crate::names::{FleetName, ShardIndex};

/// A CloudWatch alarm's state change, whichever way it was delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmTransition {
    pub alarm_name: String,
    pub new_state: String,
    pub old_state: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    /// When the alarm entered its new state: the same in every copy of one transition, so it identifies it.
    pub state_time: Option<String>,
}

impl AlarmTransition {
    /// Identifies this transition across duplicate deliveries, whatever the shape (`<alarm>@<state time>`):
    /// CloudWatch times are UTC to the millisecond, written `+0000`, `+00:00` or `Z` depending on the shape.
    pub fn transition_id(&self) -> String {
        let time = self.state_time.as_deref().unwrap_or("unknown");
        format!("{}@{}", self.alarm_name, time.get(..23).unwrap_or(time))
    }

    /// Only a transition *into* ALARM acts.
    pub fn entered_alarm(&self) -> bool {
        self.new_state == "ALARM" && self.old_state.as_deref() != Some("ALARM")
    }
}

/// One of Strata's own alarms, recognised by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrataAlarm {
    RequestsHigh {
        fleet: FleetName,
        shard: ShardIndex,
    },
    RequestsLow {
        fleet: FleetName,
    },
    /// The asg-registrar found no shard with room for an ASG (partition mode).
    TargetsFull {
        fleet: FleetName,
    },
}

impl StrataAlarm {
    pub fn parse(name: &str) -> Option<Self> {
        let rest = name.strip_prefix("strata-")?;
        if let Some(fleet_and_shard) = rest.strip_suffix("-requests-high") {
            let (fleet, shard) = fleet_and_shard.rsplit_once("-s")?;
            return Some(Self::RequestsHigh { fleet: FleetName::parse(fleet).ok()?, shard: ShardIndex::parse(shard)? });
        }
        if let Some(fleet) = rest.strip_suffix("-targets-full") {
            return Some(Self::TargetsFull { fleet: FleetName::parse(fleet).ok()? });
        }
        let fleet = rest.strip_suffix("-requests-low")?;
        Some(Self::RequestsLow { fleet: FleetName::parse(fleet).ok()? })
    }

    pub fn fleet(&self) -> &FleetName {
        match self {
            Self::RequestsHigh { fleet, .. } | Self::RequestsLow { fleet } | Self::TargetsFull { fleet } => fleet,
        }
    }
}

fn state_name(value: &CloudWatchAlarmStateValue) -> String {
    match value {
        CloudWatchAlarmStateValue::Ok => "OK",
        CloudWatchAlarmStateValue::Alarm => "ALARM",
        CloudWatchAlarmStateValue::InsufficientData => "INSUFFICIENT_DATA",
        _ => "UNKNOWN",
    }
    .to_owned()
}

fn invalid(what: &str, err: impl std::fmt::Display) -> StrataError {
    StrataError::InvalidEvent(format!("{what}: {err}"))
}

/// The longest ASG name and alarm name AWS accepts.
pub const AWS_NAME_MAX_CHARS: usize = 255;

/// A name from an event that is sent to AWS: refused before any call unless AWS could accept it (1-255 chars).
fn aws_name(what: &str, name: String) -> Result<String> {
    let chars = name.chars().count();
    if chars == 0 || chars > AWS_NAME_MAX_CHARS {
        return Err(invalid(what, format!("a name of {chars} characters (AWS allows 1 to {AWS_NAME_MAX_CHARS})")));
    }
    Ok(name)
}

/// The account of an ARN (`arn:<partition>:<service>:<region>:<account>:...`): a function knows its own from
/// the ARN it was invoked by, a custom-resource request names its stack's in `StackId`.
pub fn arn_account(arn: &str) -> Option<&str> {
    let mut parts = arn.split(':');
    (parts.next() == Some("arn")).then_some(())?;
    parts.nth(3).filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
}

/// `Some(reason)` when an event names an account and it is not this function's own (when that is known).
fn other_account(theirs: Option<&str>, ours: Option<&str>) -> Option<String> {
    let (theirs, ours) = (theirs?.trim(), ours?);
    (theirs != ours).then(|| format!("event of account {theirs}, this function serves {ours}"))
}

/// The `account` of an EventBridge event.
fn event_account(event: &Value) -> Option<&str> {
    event.get("account").and_then(Value::as_str)
}

/// Decodes the three shapes an alarm reaches a function in: the Lambda alarm action payload, the
/// EventBridge "CloudWatch Alarm State Change" event, and an SNS notification. `Ok(None)`: not an alarm.
pub fn decode_alarm(event: &Value) -> Result<Option<AlarmTransition>> {
    let Some(mut alarm) = decode_alarm_shape(event)? else { return Ok(None) };
    alarm.alarm_name = aws_name("alarm name", alarm.alarm_name)?;
    Ok(Some(alarm))
}

fn decode_alarm_shape(event: &Value) -> Result<Option<AlarmTransition>> {
    if event.get("alarmData").is_some() {
        let alarm: CloudWatchAlarm =
            serde_json::from_value(event.clone()).map_err(|e| invalid("alarm action payload", e))?;
        let data = alarm.alarm_data;
        return Ok(Some(AlarmTransition {
            alarm_name: data.alarm_name,
            new_state: data.state.as_ref().map(|s| state_name(&s.value)).unwrap_or_default(),
            old_state: data.previous_state.as_ref().map(|s| state_name(&s.value)),
            account: alarm.account_id,
            region: alarm.region,
            state_time: data.state.as_ref().map(|s| s.timestamp.to_rfc3339()),
        }));
    }
    if event.get("detail-type").and_then(Value::as_str) == Some("CloudWatch Alarm State Change") {
        let parsed: EventBridgeEvent<CloudWatchAlarmData> =
            serde_json::from_value(event.clone()).map_err(|e| invalid("CloudWatch Alarm State Change event", e))?;
        let data = parsed.detail;
        return Ok(Some(AlarmTransition {
            alarm_name: data.alarm_name,
            new_state: data.state.as_ref().map(|s| state_name(&s.value)).unwrap_or_default(),
            old_state: data.previous_state.as_ref().map(|s| state_name(&s.value)),
            account: parsed.account,
            region: parsed.region,
            state_time: data.state.as_ref().map(|s| s.timestamp.to_rfc3339()),
        }));
    }
    if event.get("Records").is_some() {
        let sns: SnsEvent = serde_json::from_value(event.clone()).map_err(|e| invalid("SNS event", e))?;
        let record = sns.records.first().ok_or_else(|| invalid("SNS event", "no records"))?;
        let message: Value = serde_json::from_str(&record.sns.message).map_err(|e| invalid("SNS alarm message", e))?;
        let text = |k: &str| message.get(k).and_then(Value::as_str).map(str::to_owned);
        let alarm_name = text("AlarmName").ok_or_else(|| invalid("SNS alarm message", "no AlarmName"))?;
        return Ok(Some(AlarmTransition {
            alarm_name,
            new_state: text("NewStateValue").ok_or_else(|| invalid("SNS alarm message", "no NewStateValue"))?,
            old_state: text("OldStateValue"),
            account: text("AWSAccountId"),
            region: text("AlarmArn").and_then(|arn| arn.split(':').nth(3).map(str::to_owned)),
            state_time: text("StateChangeTime"),
        }));
    }
    Ok(None)
}

/// What the rebalancer is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RebalanceTrigger {
    /// A schedule: every fleet in the region.
    AllFleets,
    Fleet(FleetName),
    Ignored(String),
}

/// Schedule (EventBridge Scheduled Event, optionally with `detail.fleet`), a Strata alarm's state change, or a
/// direct call `{"fleet": "<name>"}` after the scaler changed shards.
/// Events of another account than `account` (this function's own) are ignored.
pub fn decode_rebalance(event: &Value, account: Option<&str>) -> Result<RebalanceTrigger> {
    if !event.is_object() {
        return Err(StrataError::InvalidEvent(format!("not an EventBridge event or a {{\"fleet\"}} call: {event}")));
    }
    if let Some(alarm) = decode_alarm(event)? {
        if let Some(reason) = other_account(alarm.account.as_deref(), account) {
            return Ok(RebalanceTrigger::Ignored(reason));
        }
        return Ok(match StrataAlarm::parse(&alarm.alarm_name) {
            Some(strata) => RebalanceTrigger::Fleet(strata.fleet().clone()),
            None => RebalanceTrigger::Ignored(format!("alarm {} is not Strata's", alarm.alarm_name)),
        });
    }
    if let Some(reason) = other_account(event_account(event), account) {
        return Ok(RebalanceTrigger::Ignored(reason));
    }
    let fleet = event.get("fleet").or_else(|| event.get("detail").and_then(|d| d.get("fleet")));
    match fleet {
        Some(Value::String(name)) => {
            FleetName::parse(name).map(RebalanceTrigger::Fleet).map_err(|e| invalid("fleet", e))
        }
        Some(other) => Err(invalid("fleet", format!("must be a string, got {other}"))),
        None if event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") => {
            Ok(RebalanceTrigger::AllFleets)
        }
        None => Err(StrataError::InvalidEvent("neither a schedule, a Strata alarm, nor a {\"fleet\"} call".into())),
    }
}

#[cfg(test)]
mod tests;

/// What the asg-registrar is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AsgTrigger {
    /// The scheduled reconcile: every fleet, every ASG.
    Reconcile,
    /// One ASG was created, deleted, retagged or launched an instance.
    Asg {
        name: String,
        cause: String,
    },
    Ignored(String),
}

/// CloudTrail `CreateAutoScalingGroup`/`DeleteAutoScalingGroup` via EventBridge, "Tag Change on Resource" for an
/// ASG, "EC2 Instance Launch Successful", or a schedule. Events of another region are ignored.
/// Events of another region or another account than `account` (this function's own) are ignored; an ASG name
/// AWS could not accept is refused before any call.
pub fn decode_asg_event(event: &Value, region: &str, account: Option<&str>) -> Result<AsgTrigger> {
    let parsed: EventBridgeEvent<Value> =
        serde_json::from_value(event.clone()).map_err(|e| invalid("not an EventBridge event", e))?;
    if parsed.region.as_deref().is_some_and(|r| r != region) {
        return Ok(AsgTrigger::Ignored(format!("event of region {:?}, this registrar serves {region}", parsed.region)));
    }
    if let Some(reason) = other_account(parsed.account.as_deref(), account) {
        return Ok(AsgTrigger::Ignored(reason));
    }
    let trigger = decode_asg_detail(&parsed)?;
    match trigger {
        AsgTrigger::Asg { name, cause } => Ok(AsgTrigger::Asg { name: aws_name("ASG name", name)?, cause }),
        other => Ok(other),
    }
}

fn decode_asg_detail(parsed: &EventBridgeEvent<Value>) -> Result<AsgTrigger> {
    let detail = &parsed.detail;
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    match Some(parsed.detail_type.as_str()) {
        Some("Scheduled Event") => Ok(AsgTrigger::Reconcile),
        Some("AWS API Call via CloudTrail") => {
            let name = text(detail, "eventName").ok_or_else(|| invalid("CloudTrail event", "no detail.eventName"))?;
            if !matches!(name.as_str(), "CreateAutoScalingGroup" | "DeleteAutoScalingGroup") {
                return Ok(AsgTrigger::Ignored(format!("CloudTrail {name} is not an ASG create or delete")));
            }
            if detail.get("errorCode").is_some_and(|e| !e.is_null()) {
                return Ok(AsgTrigger::Ignored(format!("{name} failed in AWS: nothing changed")));
            }
            let asg = detail
                .get("requestParameters")
                .and_then(|p| text(p, "autoScalingGroupName"))
                .ok_or_else(|| invalid("CloudTrail event", "no detail.requestParameters.autoScalingGroupName"))?;
            Ok(AsgTrigger::Asg { name: asg, cause: name })
        }
        Some("Tag Change on Resource") => {
            if text(detail, "resource-type").as_deref() != Some("autoScalingGroup") {
                return Ok(AsgTrigger::Ignored("a tag change on something other than an ASG".into()));
            }
            let arn =
                parsed.resources.iter().flatten().next().ok_or_else(|| invalid("Tag Change event", "no resources"))?;
            let name = arn
                .split_once(":autoScalingGroupName/")
                .map(|(_, n)| n.to_owned())
                .ok_or_else(|| invalid("Tag Change event", format!("{arn} is not an ASG ARN")))?;
            Ok(AsgTrigger::Asg { name, cause: "Tag Change on Resource".into() })
        }
        Some(kind @ ("EC2 Instance Launch Successful" | "EC2 Instance Terminate Successful")) => {
            let name =
                text(detail, "AutoScalingGroupName").ok_or_else(|| invalid(kind, "no detail.AutoScalingGroupName"))?;
            Ok(AsgTrigger::Asg { name, cause: kind.to_owned() })
        }
        other => Ok(AsgTrigger::Ignored(format!("detail-type {other:?} is not an ASG event"))),
    }
}

/// What the alb-scaler is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScaleCommand {
    Scale {
        fleet: FleetName,
        trigger: crate::plan::scale::ScaleTrigger,
        transition_id: Option<String>,
        /// The shard whose requests-high alarm fired (the one a capacity reservation relieves).
        hot_shard: Option<ShardIndex>,
    },
    /// A schedule: finish drains and half-built shards of every fleet in the region.
    TidyAll,
    Ignored(String),
}

/// An alarm in any of its three shapes (only a transition into ALARM of Strata's own alarm, in this account
/// and region, acts), a schedule, or a direct `{"fleet": "<name>"}` tidy call.
pub fn decode_scale(event: &Value, region: &str, account: Option<&str>) -> Result<ScaleCommand> {
    use crate::plan::scale::ScaleTrigger;

    if !event.is_object() {
        return Err(StrataError::InvalidEvent(format!("not an alarm, a schedule or a {{\"fleet\"}} call: {event}")));
    }
    if let Some(alarm) = decode_alarm(event)? {
        let Some(strata) = StrataAlarm::parse(&alarm.alarm_name) else {
            return Ok(ScaleCommand::Ignored(format!("alarm {} is not Strata's", alarm.alarm_name)));
        };
        if let Some(reason) = other_account(alarm.account.as_deref(), account) {
            return Ok(ScaleCommand::Ignored(format!("alarm {}: {reason}", alarm.alarm_name)));
        }
        if alarm.region.as_deref().is_some_and(|r| r != region) {
            return Ok(ScaleCommand::Ignored(format!(
                "alarm of region {:?}, this function serves {region}",
                alarm.region
            )));
        }
        if !alarm.entered_alarm() {
            let from = alarm.old_state.as_deref().unwrap_or("?");
            return Ok(ScaleCommand::Ignored(format!(
                "{} went {from} -> {}: only a move into ALARM acts",
                alarm.alarm_name, alarm.new_state
            )));
        }
        let trigger = match strata {
            StrataAlarm::RequestsHigh { .. } | StrataAlarm::TargetsFull { .. } => ScaleTrigger::Out,
            StrataAlarm::RequestsLow { .. } => ScaleTrigger::In,
        };
        let hot_shard = match &strata {
            StrataAlarm::RequestsHigh { shard, .. } => Some(*shard),
            _ => None,
        };
        return Ok(ScaleCommand::Scale {
            fleet: strata.fleet().clone(),
            trigger,
            transition_id: Some(alarm.transition_id()),
            hot_shard,
        });
    }
    if let Some(reason) = other_account(event_account(event), account) {
        return Ok(ScaleCommand::Ignored(reason));
    }
    if event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") {
        return Ok(ScaleCommand::TidyAll);
    }
    match event.get("fleet") {
        Some(Value::String(name)) => {
            let fleet = FleetName::parse(name).map_err(|e| invalid("fleet", e))?;
            Ok(ScaleCommand::Scale { fleet, trigger: ScaleTrigger::Tidy, transition_id: None, hot_shard: None })
        }
        _ => Err(StrataError::InvalidEvent("neither a CloudWatch alarm, a schedule, nor a {\"fleet\"} call".into())),
    }
}

#[cfg(test)]
mod sample_events;
