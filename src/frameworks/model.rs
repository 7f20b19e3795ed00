//! A learning-outcomes framework as data: the import format and the `GET` answer alike.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// Framework, version, domain and outcome codes follow the activity catalogue's rule for codes,
// so that both kinds can stand in a requirement profile and a URL alike.
use crate::activities::valid_code;
use crate::error::FieldError;

/// One step of a framework's level scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Level {
    /// The level's rank: 1 is the lowest; ranks are consecutive.
    #[schema(minimum = 1, maximum = 20)]
    pub level: i32,
    #[schema(example = "Informed")]
    pub name: String,
    pub descriptor: Option<String>,
}

/// What an outcome means at one level of the scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LevelDescriptor {
    pub level: i32,
    pub descriptor: String,
}

/// A learning outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    /// Unique within the framework.
    #[schema(example = "GH-PART-01")]
    pub code: String,
    pub title: String,
    pub description: Option<String>,
    /// Optional: what the outcome means at each level.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub level_descriptors: Vec<LevelDescriptor>,
    /// The CASE item the outcome was imported from, when it was: Open Badges credentials align
    /// to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_item: Option<CaseItem>,
}

/// A CASE 1.0 `CFItem`, as its framework publishes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseItem {
    /// The item's `identifier`.
    #[schema(example = "7b1f3a52-1c2d-4e8f-9a0b-1c2d3e4f5a6b", max_length = 200)]
    pub identifier: String,
    /// The item's `uri`: where it is published.
    #[schema(
        example = "https://case.example.org/ims/case/v1p0/CFItems/7b1f3a52-1c2d-4e8f-9a0b-1c2d3e4f5a6b",
        max_length = 2000
    )]
    pub uri: String,
}

/// A domain of a framework, holding outcomes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Domain {
    #[schema(example = "GH-PART")]
    pub code: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub outcomes: Vec<Outcome>,
}

/// A versioned learning-outcomes framework. A published version never changes: changes come as
/// a new version, and attainments keep pointing at the version they were made against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Framework {
    /// Letters, digits, `.`, `_` and `-`.
    #[schema(example = "dghp-lof-example")]
    pub code: String,
    /// Letters, digits, `.`, `_` and `-`.
    #[schema(example = "0.1")]
    pub version: String,
    pub title: String,
    pub publisher: String,
    pub description: Option<String>,
    /// The ordered level scale.
    pub levels: Vec<Level>,
    pub domains: Vec<Domain>,
}

/// A framework in a list, without its domains.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FrameworkSummary {
    pub code: String,
    pub version: String,
    pub title: String,
    pub publisher: String,
    pub description: Option<String>,
    pub domain_count: usize,
    pub outcome_count: usize,
}

fn text(errors: &mut Vec<FieldError>, field: String, value: &str, max: usize) {
    if value.trim().is_empty() || value.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("must be 1 to {max} characters"),
        ));
    }
}

impl Framework {
    /// Every rule a framework keeps, with the place of each break (`domains[1].outcomes[3].code`).
    pub fn check(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if !valid_code(&self.code) {
            errors.push(FieldError::new(
                "code",
                "must be 1 to 100 letters, digits, `.`, `_` or `-`",
            ));
        }
        if !valid_code(&self.version) {
            errors.push(FieldError::new(
                "version",
                "must be 1 to 100 letters, digits, `.`, `_` or `-`",
            ));
        }
        text(&mut errors, "title".into(), &self.title, 300);
        text(&mut errors, "publisher".into(), &self.publisher, 200);
        if self
            .description
            .as_ref()
            .is_some_and(|d| d.chars().count() > 5000)
        {
            errors.push(FieldError::new(
                "description",
                "must be at most 5000 characters",
            ));
        }
        if self.levels.is_empty() || self.levels.len() > 20 {
            errors.push(FieldError::new("levels", "a scale of 1 to 20 levels"));
        }
        for (i, level) in self.levels.iter().enumerate() {
            if level.level != i as i32 + 1 {
                errors.push(FieldError::new(
                    format!("levels[{i}].level"),
                    format!("must be {}: levels are numbered 1, 2, 3, … in order", i + 1),
                ));
            }
            text(&mut errors, format!("levels[{i}].name"), &level.name, 100);
        }
        if self.domains.is_empty() {
            errors.push(FieldError::new("domains", "at least one domain"));
        }
        let mut outcome_codes = HashSet::new();
        let mut domain_codes = HashSet::new();
        for (d, domain) in self.domains.iter().enumerate() {
            if !valid_code(&domain.code) {
                errors.push(FieldError::new(
                    format!("domains[{d}].code"),
                    "must be 1 to 100 letters, digits, `.`, `_` or `-`",
                ));
            } else if !domain_codes.insert(domain.code.as_str()) {
                errors.push(FieldError::new(
                    format!("domains[{d}].code"),
                    "appears twice",
                ));
            }
            self.check_domain(d, domain, &mut outcome_codes, &mut errors);
        }
        errors
    }

    /// A domain's title and outcomes; outcome codes are unique across the framework.
    fn check_domain<'a>(
        &self,
        d: usize,
        domain: &'a Domain,
        outcome_codes: &mut HashSet<&'a str>,
        errors: &mut Vec<FieldError>,
    ) {
        let top = self.levels.len() as i32;
        text(errors, format!("domains[{d}].title"), &domain.title, 300);
        if domain.outcomes.is_empty() {
            errors.push(FieldError::new(
                format!("domains[{d}].outcomes"),
                "at least one outcome",
            ));
        }
        for (o, outcome) in domain.outcomes.iter().enumerate() {
            let at = format!("domains[{d}].outcomes[{o}]");
            if !valid_code(&outcome.code) {
                errors.push(FieldError::new(
                    format!("{at}.code"),
                    "must be 1 to 100 letters, digits, `.`, `_` or `-`",
                ));
            } else if !outcome_codes.insert(outcome.code.as_str()) {
                errors.push(FieldError::new(
                    format!("{at}.code"),
                    "appears twice in the framework",
                ));
            }
            text(errors, format!("{at}.title"), &outcome.title, 500);
            if let Some(item) = &outcome.case_item {
                text(
                    errors,
                    format!("{at}.case_item.identifier"),
                    &item.identifier,
                    200,
                );
                if item.uri.len() > 2000
                    || !item.uri.starts_with("https://") && !item.uri.starts_with("http://")
                    || url::Url::parse(&item.uri).is_err()
                {
                    errors.push(FieldError::new(
                        format!("{at}.case_item.uri"),
                        "must be an http or https URL of at most 2000 characters",
                    ));
                }
            }
            for (l, descriptor) in outcome.level_descriptors.iter().enumerate() {
                if !(1..=top).contains(&descriptor.level) {
                    errors.push(FieldError::new(
                        format!("{at}.level_descriptors[{l}].level"),
                        format!("must be a level of the scale (1 to {top})"),
                    ));
                }
            }
        }
    }

    /// The domain holding an outcome.
    pub fn domain_of(&self, outcome_code: &str) -> Option<&Domain> {
        self.domains
            .iter()
            .find(|d| d.outcomes.iter().any(|o| o.code == outcome_code))
    }

    pub fn has_level(&self, level: i32) -> bool {
        self.levels.iter().any(|l| l.level == level)
    }

    pub fn summary(&self) -> FrameworkSummary {
        FrameworkSummary {
            code: self.code.clone(),
            version: self.version.clone(),
            title: self.title.clone(),
            publisher: self.publisher.clone(),
            description: self.description.clone(),
            domain_count: self.domains.len(),
            outcome_count: self.domains.iter().map(|d| d.outcomes.len()).sum(),
        }
    }
}
