//! Records in the database.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::model::*;
use crate::db::DbConnection;
use crate::db::schema::{organisations, records};
use crate::db::types::{Id, Json, Timestamp};
use crate::error::{Error, FieldError};
use crate::http::etag::{self, Precondition};
use crate::http::pagination::{List, Page};
use crate::http::patch::{Patch, double_option};
use crate::outbox::{self, Event, RecordChange, RecordFacts};

/// A stored record.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = records)]
pub struct RecordRow {
    pub id: Id,
    pub person_id: Id,
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
    pub issuer_organisation_id: Option<Id>,
    pub external_id: Option<String>,
    pub voided_at: Option<Timestamp>,
    pub void_reason: Option<String>,
    pub version: i32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl RecordRow {
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
        RecordContent {
            kind: RecordKind::parse(&self.kind).unwrap_or(RecordKind::Other),
            title: self.title.clone(),
            activity_code: self.activity_code.clone(),
            provider_name: self.provider_name.clone(),
            started_at: self.started_at.map(|t| t.0),
            completed_at: self.completed_at.map(|t| t.0),
            expires_at: self.expires_at.map(|t| t.0),
            result: self.result.as_deref().and_then(RecordResult::parse),
            score: self.score,
            hours: self.hours,
            evidence: self.evidence.parse().unwrap_or_default(),
            notes: self.notes.clone(),
        }
    }

    pub(crate) fn set_content(&mut self, content: RecordContent) {
        self.kind = content.kind.as_str().to_owned();
        self.title = content.title;
        self.activity_code = content.activity_code;
        self.provider_name = content.provider_name;
        self.started_at = content.started_at.map(Timestamp::from);
        self.completed_at = content.completed_at.map(Timestamp::from);
        self.expires_at = content.expires_at.map(Timestamp::from);
        self.result = content.result.map(|r| r.as_str().to_owned());
        self.score = content.score;
        self.hours = content.hours;
        self.evidence = Json::of(&content.evidence);
        self.notes = content.notes;
    }

    /// A new row for a person, not yet stored.
    pub fn new(person_id: Id, content: RecordContent, provenance: Provenance) -> Self {
        let now = Timestamp::now();
        let mut row = RecordRow {
            id: Id::new(),
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

    /// The API view, given the issuing organisation's name.
    pub fn view(&self, issuer_name: Option<String>) -> Record {
        let content = self.content();
        Record {
            id: self.id.0,
            kind: content.kind,
            title: content.title,
            activity_code: content.activity_code,
            provider_name: content.provider_name,
            started_at: content.started_at,
            completed_at: content.completed_at,
            expires_at: content.expires_at,
            result: content.result,
            score: content.score,
            hours: content.hours,
            evidence: content.evidence,
            notes: content.notes,
            hidden: self.hidden,
            provenance: self.provenance(),
            issuer: match (self.issuer_organisation_id, issuer_name) {
                (Some(id), Some(name)) => Some(Issuer {
                    organisation_id: id.0,
                    name,
                }),
                _ => None,
            },
            external_id: self.external_id.clone(),
            voided_at: self.voided_at.map(|t| t.0),
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
        }
    }
}

/// A record with what its view needs besides the row.
pub type RecordWithIssuer = (RecordRow, Option<String>);

/// Filters of a record list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecordFilter {
    /// Only records of this kind.
    pub kind: Option<RecordKind>,
    /// Only records with this activity code.
    pub activity_code: Option<String>,
    /// Only records completed at or after this time.
    pub completed_from: Option<DateTime<Utc>>,
    /// Only records completed before this time.
    pub completed_to: Option<DateTime<Utc>>,
}

/// What an organisation may see of a person's records: the union of its live read grants.
#[derive(Debug, Clone, Default)]
pub struct SharedScope {
    pub all: bool,
    pub kinds: Vec<String>,
    pub activity_codes: Vec<String>,
    pub record_ids: Vec<Id>,
}

/// Whose view a query serves.
#[derive(Debug, Clone, Copy)]
pub enum Viewer<'a> {
    /// The owner sees everything, hidden and voided records included.
    Owner,
    /// An organisation sees what its grants cover, never hidden or voided records.
    Organisation(&'a SharedScope),
}

/// Lists one person's records, newest first: one indexed query, whatever the viewer.
pub fn list(
    conn: &mut DbConnection,
    person_id: Id,
    viewer: Viewer<'_>,
    filter: &RecordFilter,
    page: Page,
) -> Result<List<RecordWithIssuer>, Error> {
    let mut query = records::table
        .left_join(organisations::table)
        .filter(records::person_id.eq(person_id))
        .select((RecordRow::as_select(), organisations::name.nullable()))
        .order(records::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Viewer::Organisation(scope) = viewer {
        query = query
            .filter(records::hidden.eq(false))
            .filter(records::voided_at.is_null());
        if !scope.all {
            query = query.filter(
                records::kind
                    .eq_any(scope.kinds.clone())
                    .nullable()
                    .or(records::activity_code.eq_any(scope.activity_codes.clone()))
                    .or(records::id.eq_any(scope.record_ids.clone()).nullable()),
            );
        }
    }
    if let Some(kind) = filter.kind {
        query = query.filter(records::kind.eq(kind.as_str()));
    }
    if let Some(code) = &filter.activity_code {
        query = query.filter(records::activity_code.eq(code.clone()));
    }
    if let Some(from) = filter.completed_from {
        query = query.filter(records::completed_at.ge(Timestamp::from(from)));
    }
    if let Some(to) = filter.completed_to {
        query = query.filter(records::completed_at.lt(Timestamp::from(to)));
    }
    if let Some(after) = page.after {
        query = query.filter(records::id.lt(after));
    }
    let rows: Vec<RecordWithIssuer> = query.load(conn)?;
    Ok(List::from_rows(rows, page, |(row, _)| row.id))
}

/// Which of these records of a person's an organisation's grants cover: one query.
pub fn covered(
    conn: &mut DbConnection,
    person_id: Id,
    ids: &[Id],
    scope: &SharedScope,
) -> Result<std::collections::HashSet<Id>, Error> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<RecordRow> = records::table
        .filter(records::person_id.eq(person_id))
        .filter(records::id.eq_any(ids))
        .select(RecordRow::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|row| scope.covers(row))
        .map(|row| row.id)
        .collect())
}

impl SharedScope {
    /// Whether a record is visible under this scope.
    pub fn covers(&self, row: &RecordRow) -> bool {
        !row.hidden
            && row.voided_at.is_none()
            && self.selects(row.id, &row.kind, row.activity_code.as_deref())
    }

    /// Whether a record was visible under this scope when an event about it happened.
    pub fn covers_facts(&self, facts: &RecordFacts) -> bool {
        !facts.hidden
            && !facts.voided
            && self.selects(facts.id, &facts.kind, facts.activity_code.as_deref())
    }

    fn selects(&self, id: Id, kind: &str, activity_code: Option<&str>) -> bool {
        self.all
            || self.kinds.iter().any(|k| k == kind)
            || activity_code.is_some_and(|c| self.activity_codes.iter().any(|a| a == c))
            || self.record_ids.contains(&id)
    }
}

/// One record of a person's that an organisation's grants cover.
pub fn get_shared(
    conn: &mut DbConnection,
    person_id: Id,
    id: Id,
    scope: &SharedScope,
) -> Result<Option<RecordWithIssuer>, Error> {
    let found = get(conn, person_id, id).map(Some).or_else(|e| match e {
        Error::NotFound(_) => Ok(None),
        other => Err(other),
    })?;
    Ok(found.filter(|(row, _)| scope.covers(row)))
}

fn not_found() -> Error {
    Error::NotFound("no such record".into())
}

/// One of a person's records; another person's record is "not found".
pub fn get(conn: &mut DbConnection, person_id: Id, id: Id) -> Result<RecordWithIssuer, Error> {
    records::table
        .left_join(organisations::table)
        .filter(records::id.eq(id))
        .filter(records::person_id.eq(person_id))
        .select((RecordRow::as_select(), organisations::name.nullable()))
        .first(conn)
        .optional()?
        .ok_or_else(not_found)
}

/// An error for every id among `ids` that is not one of the person's records, each named
/// `{field}[i]`: one query.
pub fn not_owned(
    conn: &mut DbConnection,
    person_id: Id,
    ids: &[uuid::Uuid],
    field: &str,
) -> Result<Vec<FieldError>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Id> = ids.iter().map(|id| Id(*id)).collect();
    let own: Vec<Id> = records::table
        .filter(records::person_id.eq(person_id))
        .filter(records::id.eq_any(&ids))
        .select(records::id)
        .load(conn)?;
    Ok(ids
        .iter()
        .enumerate()
        .filter(|(_, id)| !own.contains(id))
        .map(|(i, _)| FieldError::new(format!("{field}[{i}]"), "is not one of your records"))
        .collect())
}

/// The most records one passport holds: a working life of training many times over, and a
/// bound on what one person's data can cost every query about them.
pub const MAX_PER_PERSON: i64 = 10_000;

/// How many records each of these people holds: one query.
pub fn counts(
    conn: &mut DbConnection,
    people: &[Id],
) -> Result<std::collections::HashMap<Id, i64>, Error> {
    if people.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(Id, i64)> = records::table
        .filter(records::person_id.eq_any(people))
        .group_by(records::person_id)
        .select((records::person_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

fn passport_full() -> Error {
    Error::Conflict(format!(
        "a passport holds at most {MAX_PER_PERSON} records: delete some you no longer need first"
    ))
}

/// Stores a new self-declared record. With an activity code from the catalogue and no explicit
/// expiry, the expiry follows from the completion and the activity's refresher period.
pub fn create(
    conn: &mut DbConnection,
    person_id: Id,
    content: RecordContent,
) -> Result<RecordRow, Error> {
    content.validate(Utc::now()).map_err(Error::Validation)?;
    if counts(conn, &[person_id])?
        .get(&person_id)
        .copied()
        .unwrap_or(0)
        >= MAX_PER_PERSON
    {
        return Err(passport_full());
    }
    let mut content = content.normalised();
    if let (None, Some(code), Some(completed)) = (
        content.expires_at,
        content.activity_code.clone(),
        content.completed_at,
    ) {
        let catalogue = crate::activities::lookup(conn, std::slice::from_ref(&code))?;
        content.expires_at = crate::activities::expiry(
            completed,
            catalogue.get(&code).and_then(|a| a.refresher_months),
        );
    }
    let row = RecordRow::new(person_id, content, Provenance::SelfDeclared);
    diesel::insert_into(records::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

/// Changes to a record (JSON merge patch). On an issued record only `hidden` may change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordPatch {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<RecordKind>)]
    pub kind: Patch<RecordKind>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 300)]
    pub title: Patch<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub activity_code: Patch<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub provider_name: Patch<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub started_at: Patch<DateTime<Utc>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub completed_at: Patch<DateTime<Utc>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub expires_at: Patch<DateTime<Utc>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<RecordResult>)]
    pub result: Patch<RecordResult>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<f64>, minimum = 0, maximum = 100)]
    pub score: Patch<f64>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<f64>, minimum = 0, maximum = 10000)]
    pub hours: Patch<f64>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Vec<Evidence>>)]
    pub evidence: Patch<Vec<Evidence>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 5000)]
    pub notes: Patch<String>,
    /// Hide the record from every organisation's view (or show it again).
    pub hidden: Option<bool>,
}

impl RecordPatch {
    /// The content fields this patch touches, by name.
    pub(crate) fn touched(&self) -> Vec<&'static str> {
        let fields = [
            ("kind", self.kind.is_keep()),
            ("title", self.title.is_keep()),
            ("activity_code", self.activity_code.is_keep()),
            ("provider_name", self.provider_name.is_keep()),
            ("started_at", self.started_at.is_keep()),
            ("completed_at", self.completed_at.is_keep()),
            ("expires_at", self.expires_at.is_keep()),
            ("result", self.result.is_keep()),
            ("score", self.score.is_keep()),
            ("hours", self.hours.is_keep()),
            ("evidence", self.evidence.is_keep()),
            ("notes", self.notes.is_keep()),
        ];
        fields
            .into_iter()
            .filter(|(_, keep)| !keep)
            .map(|(name, _)| name)
            .collect()
    }

    pub(crate) fn apply(self, content: &mut RecordContent) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        fn sent(patch: &Patch<String>) -> Option<&str> {
            match patch {
                Patch::Set(value) => Some(value),
                _ => None,
            }
        }
        let evidence = match &self.evidence {
            Patch::Set(items) => Some(items.as_slice()),
            _ => None,
        };
        crate::records::model::check_sent_lengths(
            &mut errors,
            sent(&self.title),
            sent(&self.activity_code),
            sent(&self.provider_name),
            sent(&self.notes),
            evidence,
        );
        match self.kind {
            Patch::Set(kind) => content.kind = kind,
            Patch::Clear => errors.push(FieldError::new("kind", "is required and cannot be null")),
            Patch::Keep => {}
        }
        match self.title {
            Patch::Set(title) => content.title = title.trim().to_owned(),
            Patch::Clear => errors.push(FieldError::new("title", "is required and cannot be null")),
            Patch::Keep => {}
        }
        let text = |patch: Patch<String>, target: &mut Option<String>| {
            patch.apply(target);
            *target = target
                .take()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty());
        };
        text(self.activity_code, &mut content.activity_code);
        text(self.provider_name, &mut content.provider_name);
        text(self.notes, &mut content.notes);
        self.started_at.apply(&mut content.started_at);
        self.completed_at.apply(&mut content.completed_at);
        self.expires_at.apply(&mut content.expires_at);
        self.result.apply(&mut content.result);
        self.score.apply(&mut content.score);
        self.hours.apply(&mut content.hours);
        let mut evidence = Some(std::mem::take(&mut content.evidence));
        self.evidence.apply(&mut evidence);
        content.evidence = evidence.unwrap_or_default();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Applies a patch to one of a person's records, if it is still at a version the caller has
/// seen. The whole record is checked again after the change.
pub fn update(
    conn: &mut DbConnection,
    person_id: Id,
    id: Id,
    patch: RecordPatch,
    precondition: &Precondition,
) -> Result<RecordWithIssuer, Error> {
    crate::db::transaction(conn, |conn| {
        let (mut row, issuer) = get(conn, person_id, id)?;
        let (content_before, hidden_before) = (row.content(), row.hidden);
        // The body is checked first: a malformed change is refused as such, whatever its ETag.
        let unchanged_since_read = precondition.allows(row.id, row.version);
        let hidden = patch.hidden;
        if row.provenance() == Provenance::Issued {
            let touched = patch.touched();
            if !touched.is_empty() {
                return Err(Error::Validation(
                    touched
                        .into_iter()
                        .map(|f| FieldError::new(f, "an issued record cannot be edited by its owner; only `hidden` may change"))
                        .collect(),
                ));
            }
        } else {
            let mut content = row.content();
            patch.apply(&mut content).map_err(Error::Validation)?;
            content.validate(Utc::now()).map_err(Error::Validation)?;
            row.set_content(content);
        }
        if let Some(hidden) = hidden {
            row.hidden = hidden;
        }
        if !unchanged_since_read {
            return Err(Error::PreconditionFailed);
        }
        let read_version = row.version;
        row.version += 1;
        row.updated_at = Timestamp::now();
        let rows = diesel::update(
            records::table
                .find(row.id)
                .filter(records::version.eq(read_version)),
        )
        .set((
            records::kind.eq(&row.kind),
            records::title.eq(&row.title),
            records::activity_code.eq(&row.activity_code),
            records::provider_name.eq(&row.provider_name),
            records::started_at.eq(row.started_at),
            records::completed_at.eq(row.completed_at),
            records::expires_at.eq(row.expires_at),
            records::result.eq(&row.result),
            records::score.eq(row.score),
            records::hours.eq(row.hours),
            records::evidence.eq(&row.evidence),
            records::notes.eq(&row.notes),
            records::hidden.eq(row.hidden),
            records::version.eq(row.version),
            records::updated_at.eq(row.updated_at),
        ))
        .execute(conn)?;
        etag::written(rows)?;
        if row.content() != content_before || row.hidden != hidden_before {
            outbox::record(
                conn,
                Event::Record {
                    change: RecordChange::Updated,
                    record: row.facts(),
                    changed_by: None,
                },
            )?;
        }
        Ok((row, issuer))
    })
}

/// Deletes one of a person's self-declared records.
pub fn delete(
    conn: &mut DbConnection,
    person_id: Id,
    id: Id,
    precondition: &Precondition,
) -> Result<(), Error> {
    crate::db::transaction(conn, |conn| {
        let (row, _) = get(conn, person_id, id)?;
        if row.provenance() == Provenance::Issued {
            return Err(Error::Conflict(
                "an issued record cannot be deleted by its owner; hide it with PATCH {\"hidden\": true} instead".into(),
            ));
        }
        if !precondition.allows(row.id, row.version) {
            return Err(Error::PreconditionFailed);
        }
        let rows = diesel::delete(
            records::table
                .find(row.id)
                .filter(records::version.eq(row.version)),
        )
        .execute(conn)?;
        etag::written(rows)
    })
}
