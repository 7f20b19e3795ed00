//! A record as stored, and how it turns into what the API shows.

use crate::db::ids::{OrganisationId, PersonId, RecordId};
use diesel::prelude::*;

use super::model::*;
use crate::db::schema::records;
use crate::db::types::{Json, Timestamp};
use crate::outbox::RecordFacts;

/// A stored record.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = records)]
// NULL rather than DEFAULT for an empty field (no nullable column has a default): one
// prepared insert per connection, and no SQLite batch run row by row (see `crate::insert_new`).
#[diesel(treat_none_as_default_value = false)]
pub struct RecordRow {
    pub id: RecordId,
    pub person_id: PersonId,
    pub kind: String,
    pub title: String,
    pub activity_code: Option<String>,
    pub provider_name: Option<String>,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub result: Option<String>,
    pub score: Option<f64>,
    pub hours: Option<f64>,
    pub evidence: Json,
    pub notes: Option<String>,
    pub hidden: bool,
    pub provenance: String,
    pub issuer_organisation_id: Option<OrganisationId>,
    pub external_id: Option<String>,
    pub voided_at: Option<Timestamp>,
    pub void_reason: Option<String>,
    pub version: i32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Everything about a record that changes after it is stored, written back in one update
/// whoever changes it (the owner, or the issuer correcting or voiding it).
#[derive(AsChangeset)]
#[diesel(table_name = records, treat_none_as_null = true)]
pub(super) struct RecordChanges<'a> {
    kind: &'a str,
    title: &'a str,
    activity_code: Option<&'a str>,
    provider_name: Option<&'a str>,
    started_at: Option<Timestamp>,
    completed_at: Option<Timestamp>,
    expires_at: Option<Timestamp>,
    result: Option<&'a str>,
    score: Option<f64>,
    hours: Option<f64>,
    evidence: &'a Json,
    notes: Option<&'a str>,
    hidden: bool,
    voided_at: Option<Timestamp>,
    void_reason: Option<&'a str>,
    version: i32,
    updated_at: Timestamp,
}

impl RecordRow {
    /// The row's changeable columns, to be written over the stored ones.
    pub(super) fn changes(&self) -> RecordChanges<'_> {
        RecordChanges {
            kind: &self.kind,
            title: &self.title,
            activity_code: self.activity_code.as_deref(),
            provider_name: self.provider_name.as_deref(),
            started_at: self.started_at,
            completed_at: self.completed_at,
            expires_at: self.expires_at,
            result: self.result.as_deref(),
            score: self.score,
            hours: self.hours,
            evidence: &self.evidence,
            notes: self.notes.as_deref(),
            hidden: self.hidden,
            voided_at: self.voided_at,
            void_reason: self.void_reason.as_deref(),
            version: self.version,
            updated_at: self.updated_at,
        }
    }

    /// What decides who may hear of the record as it is now.
    pub fn facts(&self) -> RecordFacts {
        RecordFacts {
            id: self.id,
            person_id: self.person_id,
            kind: self.kind.clone(),
            activity_code: self.activity_code.clone(),
            hidden: self.hidden,
            voided: self.voided_at.is_some(),
        }
    }

    pub fn provenance(&self) -> Provenance {
        if self.provenance == "issued" {
            Provenance::Issued
        } else {
            Provenance::SelfDeclared
        }
    }

    pub fn content(&self) -> RecordContent {
        self.clone().into_content()
    }

    fn into_content(self) -> RecordContent {
        RecordContent {
            learning: Learning {
                kind: RecordKind::parse(&self.kind).unwrap_or(RecordKind::Other),
                title: self.title,
                activity_code: self.activity_code,
                provider_name: self.provider_name,
                started_at: self.started_at.map(|t| t.0),
                completed_at: self.completed_at.map(|t| t.0),
                expires_at: self.expires_at.map(|t| t.0),
                result: self.result.as_deref().and_then(RecordResult::parse),
                score: self.score,
                hours: self.hours,
                evidence: self.evidence.into_parsed().unwrap_or_default(),
            },
            notes: self.notes,
        }
    }

    pub(crate) fn set_content(&mut self, content: RecordContent) {
        self.kind = content.learning.kind.as_str().to_owned();
        self.title = content.learning.title;
        self.activity_code = content.learning.activity_code;
        self.provider_name = content.learning.provider_name;
        self.started_at = content.learning.started_at.map(Timestamp::from);
        self.completed_at = content.learning.completed_at.map(Timestamp::from);
        self.expires_at = content.learning.expires_at.map(Timestamp::from);
        self.result = content.learning.result.map(|r| r.as_str().to_owned());
        self.score = content.learning.score;
        self.hours = content.learning.hours;
        self.evidence = Json::of(&content.learning.evidence);
        self.notes = content.notes;
    }

    /// A new row for a person, not yet stored.
    pub fn new(person_id: PersonId, content: RecordContent, provenance: Provenance) -> Self {
        let now = Timestamp::now();
        let mut row = RecordRow {
            id: RecordId::new(),
            person_id,
            kind: String::new(),
            title: String::new(),
            activity_code: None,
            provider_name: None,
            started_at: None,
            completed_at: None,
            expires_at: None,
            result: None,
            score: None,
            hours: None,
            evidence: Json::of(&Vec::<Evidence>::new()),
            notes: None,
            hidden: false,
            provenance: provenance.as_str().to_owned(),
            issuer_organisation_id: None,
            external_id: None,
            voided_at: None,
            void_reason: None,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        row.set_content(content);
        row
    }

    /// The API view, given the issuing organisation's name. It takes the row, so that a list's
    /// strings move into its views rather than being copied.
    pub fn view(mut self, issuer_name: Option<String>) -> Record {
        let provenance = self.provenance();
        let external_id = self.external_id.take();
        let (id, hidden, issuer_id) = (self.id, self.hidden, self.issuer_organisation_id);
        let (voided_at, created_at, updated_at) =
            (self.voided_at, self.created_at, self.updated_at);
        let content = self.into_content();
        Record {
            id: id.0,
            learning: content.learning,
            notes: content.notes,
            hidden,
            provenance,
            issuer: match (issuer_id, issuer_name) {
                (Some(id), Some(name)) => Some(Issuer {
                    organisation_id: id.0,
                    name,
                }),
                _ => None,
            },
            external_id,
            voided_at: voided_at.map(|t| t.0),
            created_at: created_at.0,
            updated_at: updated_at.0,
        }
    }
}

/// A record with what its view needs besides the row.
pub type RecordWithIssuer = (RecordRow, Option<String>);
