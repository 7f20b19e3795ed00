//! Import of 1EdTech CASE 1.0 packages (CFDocument, CFItems, CFAssociations): the standard
//! exchange format for competency frameworks. What fits becomes a [`Framework`]; the rest is
//! reported, never silently dropped.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::{CaseItem, Domain, Framework, Level, Outcome};
use crate::error::{Error, FieldError};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Package {
    #[serde(rename = "CFDocument")]
    document: Document,
    #[serde(rename = "CFItems", default)]
    items: Vec<Item>,
    #[serde(rename = "CFAssociations", default)]
    associations: Vec<Association>,
    #[serde(flatten)]
    other: HashMap<String, serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    identifier: String,
    title: String,
    creator: Option<String>,
    publisher: Option<String>,
    description: Option<String>,
    version: Option<String>,
    human_coding_scheme: Option<String>,
    last_change_date_time: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Item {
    identifier: String,
    uri: Option<String>,
    full_statement: String,
    abbreviated_statement: Option<String>,
    human_coding_scheme: Option<String>,
    notes: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Association {
    association_type: String,
    origin_node_u_r_i: NodeUri,
    destination_node_u_r_i: NodeUri,
    sequence_number: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct NodeUri {
    identifier: String,
}

/// What an import made of a CASE package, and what it left out.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseReport {
    pub code: String,
    pub version: String,
    pub domains: usize,
    pub outcomes: usize,
    /// Everything in the package that has no place in a framework here, in plain words.
    pub skipped: Vec<String>,
}

fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || "._-".contains(c) {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').chars().take(100).collect()
}

/// The generic scale given to CASE frameworks, which carry no level scale of their own.
fn default_levels() -> Vec<Level> {
    [
        ("Aware", "Knows of the outcome and where it applies."),
        ("Practising", "Meets the outcome with support."),
        (
            "Proficient",
            "Meets the outcome independently and consistently.",
        ),
        ("Leading", "Leads and develops others in the outcome."),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (name, descriptor))| Level {
        level: i as i32 + 1,
        name: name.into(),
        descriptor: Some(descriptor.into()),
    })
    .collect()
}

/// Whether a JSON document looks like a CASE package.
pub fn is_case(value: &serde_json::Value) -> bool {
    value.get("CFDocument").is_some()
}

/// Maps a CASE package onto a framework: items that are children of the document become
/// domains, their children outcomes, and deeper items outcomes of their top domain.
pub fn import(value: serde_json::Value) -> Result<(Framework, CaseReport), Error> {
    let package: Package = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        Error::Validation(vec![FieldError::new(
            if path == "." {
                "CFDocument".to_owned()
            } else {
                path
            },
            e.inner().to_string(),
        )])
    })?;
    let mut skipped: Vec<String> = package
        .other
        .keys()
        .map(|key| format!("{key}: not used (no equivalent here)"))
        .collect();
    let children = child_tree(&package, &mut skipped);
    let domains = domains_of(&package, &children, &mut skipped);
    skipped.push("level scale: CASE has none; the generic four-level scale (Aware, Practising, Proficient, Leading) was used".into());
    let framework = framework_of(&package.document, domains);
    let report = CaseReport {
        code: framework.code.clone(),
        version: framework.version.clone(),
        domains: framework.domains.len(),
        outcomes: framework.domains.iter().map(|d| d.outcomes.len()).sum(),
        skipped,
    };
    Ok((framework, report))
}

/// Each item's children, in their sequence: only `isChildOf` shapes a framework.
fn child_tree<'a>(
    package: &'a Package,
    skipped: &mut Vec<String>,
) -> HashMap<&'a str, Vec<(i64, &'a str)>> {
    let mut children: HashMap<&str, Vec<(i64, &str)>> = HashMap::new();
    for association in &package.associations {
        if association.association_type != "isChildOf" {
            skipped.push(format!(
                "association {} ({}): only isChildOf shapes a framework",
                association.association_type, association.origin_node_u_r_i.identifier
            ));
            continue;
        }
        children
            .entry(association.destination_node_u_r_i.identifier.as_str())
            .or_default()
            .push((
                association.sequence_number.unwrap_or(i64::MAX),
                association.origin_node_u_r_i.identifier.as_str(),
            ));
    }
    for list in children.values_mut() {
        list.sort();
    }
    children
}

fn code_of(item: &Item) -> String {
    item.human_coding_scheme
        .as_deref()
        .map(slug)
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| slug(&item.identifier))
}

fn title_of(item: &Item) -> String {
    item.abbreviated_statement
        .clone()
        .unwrap_or_else(|| item.full_statement.chars().take(300).collect())
}

fn outcome_of(item: &Item) -> Outcome {
    Outcome {
        code: code_of(item),
        title: title_of(item),
        description: Some(item.full_statement.clone()),
        level_descriptors: vec![],
        case_item: item.uri.as_ref().map(|uri| CaseItem {
            identifier: item.identifier.clone(),
            uri: uri.clone(),
        }),
    }
}

/// The document's children as domains, each with every item below it as an outcome; items
/// connected to nothing are reported.
fn domains_of(
    package: &Package,
    children: &HashMap<&str, Vec<(i64, &str)>>,
    skipped: &mut Vec<String>,
) -> Vec<Domain> {
    let items: HashMap<&str, &Item> = package
        .items
        .iter()
        .map(|i| (i.identifier.as_str(), i))
        .collect();
    let mut domains = Vec::new();
    let mut placed = std::collections::HashSet::new();
    for (_, domain_id) in children
        .get(package.document.identifier.as_str())
        .cloned()
        .unwrap_or_default()
    {
        let Some(domain_item) = items.get(domain_id) else {
            skipped.push(format!("association to unknown item {domain_id}"));
            continue;
        };
        placed.insert(domain_id);
        let mut outcomes = Vec::new();
        let mut stack: Vec<&str> = children
            .get(domain_id)
            .map(|c| c.iter().rev().map(|(_, id)| *id).collect())
            .unwrap_or_default();
        while let Some(id) = stack.pop() {
            let Some(item) = items.get(id) else {
                skipped.push(format!("association to unknown item {id}"));
                continue;
            };
            if !placed.insert(id) {
                continue;
            }
            outcomes.push(outcome_of(item));
            if let Some(grandchildren) = children.get(id) {
                stack.extend(grandchildren.iter().rev().map(|(_, id)| *id));
            }
        }
        if outcomes.is_empty() {
            // A top-level item with no children is itself an outcome in a domain of its own.
            outcomes.push(outcome_of(domain_item));
        }
        domains.push(Domain {
            code: code_of(domain_item),
            title: title_of(domain_item),
            description: domain_item.notes.clone(),
            outcomes,
        });
    }
    for item in &package.items {
        if !placed.contains(item.identifier.as_str()) {
            skipped.push(format!(
                "item {} ({}): not connected to the document by isChildOf",
                item.identifier,
                item.full_statement.chars().take(60).collect::<String>()
            ));
        }
    }
    domains
}

/// The framework the document describes, holding `domains`.
fn framework_of(document: &Document, domains: Vec<Domain>) -> Framework {
    Framework {
        code: document
            .human_coding_scheme
            .as_deref()
            .map(slug)
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| slug(&document.title)),
        version: document
            .version
            .as_deref()
            .map(slug)
            .filter(|v| !v.is_empty())
            .or_else(|| {
                document
                    .last_change_date_time
                    .as_deref()
                    .map(|d| slug(&d.chars().take(10).collect::<String>()))
            })
            .unwrap_or_else(|| "1".into()),
        title: document.title.clone(),
        publisher: document
            .publisher
            .clone()
            .or_else(|| document.creator.clone())
            .unwrap_or_else(|| "unknown".into()),
        description: document.description.clone(),
        levels: default_levels(),
        domains,
    }
}
