//! A CloudWatch metric alarm as CloudWatch evaluates Strata's: one-minute periods, `N` out of the last `N`
//! datapoints, missing data not breaching, and actions only on a transition into ALARM. An update
//! (PutMetricAlarm on an existing alarm) keeps its state, so a threshold change alone fires nothing.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Above,
    Below,
}

#[derive(Debug, Clone)]
pub struct SimAlarm {
    pub evaluation_periods: usize,
    pub comparison: Comparison,
    pub threshold: f64,
    in_alarm: bool,
    /// Newest last; `None` where the metric had no datapoint (the shard did not exist).
    datapoints: Vec<Option<f64>>,
}

impl SimAlarm {
    pub fn new(evaluation_periods: usize, comparison: Comparison, threshold: f64) -> Self {
        Self { evaluation_periods, comparison, threshold, in_alarm: false, datapoints: Vec::new() }
    }

    pub fn in_alarm(&self) -> bool {
        self.in_alarm
    }

    /// Adds one period's datapoint and evaluates; `true` when the alarm has just gone into ALARM (its action runs).
    pub fn observe(&mut self, datapoint: Option<f64>) -> bool {
        self.datapoints.push(datapoint);
        let start = self.datapoints.len().saturating_sub(self.evaluation_periods);
        let window = &self.datapoints[start..];
        let breaching = |value: &Option<f64>| match (value, self.comparison) {
            (Some(v), Comparison::Above) => *v > self.threshold,
            (Some(v), Comparison::Below) => *v < self.threshold,
            // treat_missing_data = notBreaching
            (None, _) => false,
        };
        let alarm = window.len() == self.evaluation_periods && window.iter().all(breaching);
        let fired = alarm && !self.in_alarm;
        self.in_alarm = alarm;
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_once_on_the_third_breaching_minute_and_again_only_after_going_ok() {
        let mut alarm = SimAlarm::new(3, Comparison::Above, 10.0);
        let fired: Vec<bool> =
            [11.0, 12.0, 13.0, 14.0, 5.0, 11.0, 11.0, 11.0].iter().map(|v| alarm.observe(Some(*v))).collect();
        assert_eq!(fired, [false, false, true, false, false, false, false, true]);
    }

    #[test]
    fn missing_data_does_not_breach() {
        let mut alarm = SimAlarm::new(2, Comparison::Below, 10.0);
        assert!(!alarm.observe(None));
        assert!(!alarm.observe(Some(1.0)));
        assert!(alarm.observe(Some(1.0)));
    }
}
