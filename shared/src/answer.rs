//! What the three event-driven functions (alb-scaler, asg-registrar, dns-rebalancer) answer: an event that is
//! not theirs, ignored with its reason, or one report per fleet they acted on. The JSON is `{"ignored": "..."}`
//! or `{"fleets": [...]}`, as docs and scripts read it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Answer<R> {
    Ignored { ignored: String },
    Fleets { fleets: Vec<R> },
}

impl<R> Answer<R> {
    /// Why the event was ignored; `None` when the function acted on it.
    pub fn ignored(&self) -> Option<&str> {
        match self {
            Self::Ignored { ignored } => Some(ignored),
            Self::Fleets { .. } => None,
        }
    }

    /// The reports, one per fleet; none for an ignored event.
    pub fn fleets(&self) -> &[R] {
        match self {
            Self::Ignored { .. } => &[],
            Self::Fleets { fleets } => fleets,
        }
    }
}

/// Read by its key rather than `untagged`, whose error ("did not match any variant") would hide which field
/// of which report was wrong.
impl<'de, R: Deserialize<'de>> Deserialize<'de> for Answer<R> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Fields<R> {
            ignored: Option<String>,
            fleets: Option<Vec<R>>,
        }
        match Fields::deserialize(deserializer)? {
            Fields { ignored: Some(ignored), fleets: None } => Ok(Self::Ignored { ignored }),
            Fields { ignored: None, fleets: Some(fleets) } => Ok(Self::Fleets { fleets }),
            _ => Err(serde::de::Error::custom("an answer has either `ignored` or `fleets`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn both_shapes_round_trip_as_the_functions_answer_them() {
        let ignored: Answer<u8> = Answer::Ignored { ignored: "not Strata's alarm".into() };
        assert_eq!(serde_json::to_value(&ignored).unwrap(), json!({"ignored": "not Strata's alarm"}));
        assert_eq!(serde_json::from_value::<Answer<u8>>(json!({"ignored": "not Strata's alarm"})).unwrap(), ignored);
        assert_eq!(ignored.ignored(), Some("not Strata's alarm"));
        assert!(ignored.fleets().is_empty());

        let fleets: Answer<u8> = Answer::Fleets { fleets: vec![1, 2] };
        assert_eq!(serde_json::to_value(&fleets).unwrap(), json!({"fleets": [1, 2]}));
        assert_eq!(serde_json::from_value::<Answer<u8>>(json!({"fleets": [1, 2]})).unwrap(), fleets);
        assert_eq!((fleets.fleets(), fleets.ignored()), (&[1, 2][..], None));
    }

    #[test]
    fn a_bad_report_is_named_and_an_answer_is_one_shape_or_the_other() {
        let err = serde_json::from_value::<Answer<u8>>(json!({"fleets": ["x"]})).unwrap_err().to_string();
        assert!(err.contains("u8"), "{err}");
        for bad in [json!({}), json!({"ignored": "x", "fleets": []}), json!({"fleet": []})] {
            assert!(serde_json::from_value::<Answer<u8>>(bad.clone()).is_err(), "{bad}");
        }
    }
}
