use super::*;

#[test]
fn strata_alarm_names_parse_back_to_fleet_and_shard() {
    let high = StrataAlarm::parse("strata-web-api-s3-requests-high").unwrap();
    assert_eq!(
        high,
        StrataAlarm::RequestsHigh { fleet: FleetName::parse("web-api").unwrap(), shard: ShardIndex::new(3).unwrap() }
    );
    let low = StrataAlarm::parse("strata-web-requests-low").unwrap();
    assert_eq!(low, StrataAlarm::RequestsLow { fleet: FleetName::parse("web").unwrap() });
    for foreign in
        ["web-s0-requests-high", "strata-web-cpu-high", "strata--requests-low", "strata-web-sX-requests-high"]
    {
        assert_eq!(StrataAlarm::parse(foreign), None, "{foreign}");
    }
}

#[test]
fn a_transition_into_alarm_acts_and_others_do_not() {
    let t = |new: &str, old: Option<&str>| AlarmTransition {
        alarm_name: "a".into(),
        new_state: new.into(),
        old_state: old.map(Into::into),
        account: None,
        region: None,
        state_time: None,
    };
    assert!(t("ALARM", Some("OK")).entered_alarm());
    assert!(!t("OK", Some("ALARM")).entered_alarm());
    assert!(!t("ALARM", Some("ALARM")).entered_alarm());
    assert!(!t("INSUFFICIENT_DATA", Some("OK")).entered_alarm());
}
