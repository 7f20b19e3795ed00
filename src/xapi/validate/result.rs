//! The Result object and its Score (Data 2.4.5).

use serde_json::Value;

use super::common::{fail, props};
use super::formats::is_duration;
use crate::error::FieldError;

const RESULT: &[&str] = &[
    "score",
    "success",
    "completion",
    "response",
    "duration",
    "extensions",
];

pub(super) fn result(value: &Value, path: &str) -> Result<(), FieldError> {
    let p = props(value, path, RESULT)?;
    if let Some(score_value) = p.get("score") {
        score(score_value, &p.path("score"))?;
    }
    p.boolean("success")?;
    p.boolean("completion")?;
    p.string("response")?;
    p.string_as("duration", is_duration, "must be an ISO 8601 duration")?;
    p.extensions("extensions")
}

/// Data 2.4.5.1: scaled lies in [-1, 1]; min < max; raw lies between whichever bounds are given.
fn score(value: &Value, path: &str) -> Result<(), FieldError> {
    let p = props(value, path, &["scaled", "raw", "min", "max"])?;
    let scaled = p.number("scaled")?;
    let raw = p.number("raw")?;
    let min = p.number("min")?;
    let max = p.number("max")?;
    if scaled.is_some_and(|s| !(-1.0..=1.0).contains(&s)) {
        return fail(&p.path("scaled"), "must be between -1 and 1");
    }
    if let (Some(min), Some(max)) = (min, max)
        && min >= max
    {
        return fail(&p.path("max"), "must be greater than min");
    }
    if let Some(raw) = raw {
        if min.is_some_and(|min| raw < min) {
            return fail(&p.path("raw"), "must not be less than min");
        }
        if max.is_some_and(|max| raw > max) {
            return fail(&p.path("raw"), "must not be greater than max");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::common::test_support::*;

    fn with_result(result: Value) -> Value {
        set(base(), "/result", result)
    }

    fn with_score(score: Value) -> Value {
        with_result(json!({"score": score}))
    }

    #[test]
    fn full_result_is_accepted() {
        accepts(&with_result(json!({
            "score": {"scaled": 0.95, "raw": 95, "min": 0, "max": 100},
            "success": true, "completion": false, "response": "We agreed on some example actions.",
            "duration": "PT1H0M0S", "extensions": {"http://example.com/ext": "x"}
        })));
        accepts(&with_result(json!({})));
    }

    #[test]
    fn result_types() {
        rejects(
            &with_result(json!({"success": "true"})),
            "result.success",
            "must be a boolean",
        );
        rejects(
            &with_result(json!({"completion": "false"})),
            "result.completion",
            "must be a boolean",
        );
        rejects(
            &with_result(json!({"response": 42})),
            "result.response",
            "must be a string",
        );
        rejects(
            &with_result(json!({"duration": 12345})),
            "result.duration",
            "must be a string",
        );
        rejects(
            &with_result(json!({"extensions": "x"})),
            "result.extensions",
            "must be an object",
        );
        rejects(
            &with_result(json!({"Success": true})),
            "result.Success",
            "unknown property",
        );
        rejects(&with_result(json!("passed")), "result", "must be an object");
    }

    #[test]
    fn duration_is_iso_8601() {
        for good in [
            "PT1H30M",
            "P1DT2.5S",
            "PT4H35M59.14S",
            "P3Y1M29DT4H35M59.14S",
            "P3Y",
            "P4W",
            "PT1H0M0.1S",
            "PT16559.14S",
            "P0D",
            "PT0,5S",
        ] {
            accepts(&with_result(json!({"duration": good})));
        }
        for bad in [
            "PA1H0M0S",
            "should fail",
            "",
            "P",
            "PT",
            "P1YT",
            "P4W1D",
            "1H",
            "PT1.5H30M",
            "P1M2Y",
            "PT1S1M",
            "P0003-02-01T04:05:06",
            "-PT1H",
            "pt1h",
            "P1DT",
            "PT.5S",
        ] {
            rejects(
                &with_result(json!({"duration": bad})),
                "result.duration",
                "ISO 8601 duration",
            );
        }
    }

    #[test]
    fn score_values_are_numbers() {
        rejects(
            &with_score(json!({"max": "one hundred"})),
            "result.score.max",
            "must be a number",
        );
        rejects(
            &with_score(json!({"max": "100"})),
            "result.score.max",
            "must be a number",
        );
        rejects(
            &with_score(json!({"scaled": true})),
            "result.score.scaled",
            "must be a number",
        );
        rejects(
            &with_score(json!({"grade": 1})),
            "result.score.grade",
            "unknown property",
        );
    }

    #[test]
    fn scaled_is_between_minus_one_and_one() {
        accepts(&with_score(json!({"scaled": 1})));
        accepts(&with_score(json!({"scaled": -1.0})));
        rejects(
            &with_score(json!({"scaled": 1.01})),
            "result.score.scaled",
            "between -1 and 1",
        );
        rejects(
            &with_score(json!({"scaled": -1.5})),
            "result.score.scaled",
            "between -1 and 1",
        );
    }

    #[test]
    fn raw_min_max_are_consistent() {
        accepts(&with_score(json!({"raw": 0, "min": 0, "max": 10})));
        accepts(&with_score(json!({"raw": 10, "min": 0, "max": 10})));
        accepts(&with_score(json!({"raw": -50})));
        rejects(
            &with_score(json!({"min": 10, "max": 10})),
            "result.score.max",
            "greater than min",
        );
        rejects(
            &with_score(json!({"min": 10, "max": 5})),
            "result.score.max",
            "greater than min",
        );
        rejects(
            &with_score(json!({"raw": -1, "min": 0})),
            "result.score.raw",
            "less than min",
        );
        rejects(
            &with_score(json!({"raw": 11, "min": 0, "max": 10})),
            "result.score.raw",
            "greater than max",
        );
        rejects(
            &with_score(json!({"raw": 11, "max": 10})),
            "result.score.raw",
            "greater than max",
        );
    }
}
