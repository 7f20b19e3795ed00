//! An organisation's subscriptions: stored, validated, rotated.

use crate::db::ids::{OrganisationId, WebhookId};
use std::collections::HashSet;

use chrono::Duration;
use diesel::prelude::*;

use super::model::*;
use super::sealing::SecretSeal;
use super::{signing, target};
use crate::config::WebhookSettings;
use crate::db::DbConnection;
use crate::db::schema::webhooks;
use crate::db::types::{Json, Timestamp};
use crate::error::{Error, FieldError};
use crate::http::etag::{self, Precondition};
use crate::http::pagination::{List, Page};

/// At most this many subscriptions per organisation.
const MAX_PER_ORGANISATION: i64 = 20;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhooks)]
pub struct WebhookRow {
    pub id: WebhookId,
    pub organisation_id: OrganisationId,
    pub url: String,
    pub description: String,
    pub event_types: Json,
    pub status: String,
    pub failing_since: Option<Timestamp>,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<Timestamp>,
    pub version: i32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub events_dropped: i32,
}

impl WebhookRow {
    pub fn event_types(&self) -> Vec<EventType> {
        self.event_types.parse().unwrap_or_default()
    }

    pub fn wants(&self, event: EventType) -> bool {
        self.status == WebhookStatus::Active.as_str() && self.event_types().contains(&event)
    }

    /// The secrets that sign now, as stored (sealed): the current one, and the previous one
    /// during its grace period.
    pub fn signing_secrets(&self, now: Timestamp) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let (Some(previous), Some(until)) =
            (&self.previous_secret, self.previous_secret_expires_at)
            && until > now
        {
            secrets.push(previous);
        }
        secrets
    }

    fn view(&self) -> Webhook {
        let now = Timestamp::now();
        Webhook {
            id: self.id.0,
            url: self.url.clone(),
            description: self.description.clone(),
            event_types: self.event_types(),
            status: WebhookStatus::parse(&self.status),
            failing_since: self.failing_since.map(|t| t.0),
            previous_secret_expires_at: self
                .previous_secret_expires_at
                .filter(|until| *until > now)
                .map(|t| t.0),
            events_dropped: self.events_dropped,
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
            version: self.version,
        }
    }
}

fn check_url(url: &str, settings: &WebhookSettings, errors: &mut Vec<FieldError>) {
    if let Err(why) = target::check_url(url, settings.allow_private) {
        errors.push(FieldError::new("url", why));
    }
}

fn check_event_types(types: &[EventType], errors: &mut Vec<FieldError>) {
    let distinct: HashSet<_> = types.iter().collect();
    if types.is_empty() {
        errors.push(FieldError::new(
            "event_types",
            "name at least one event type",
        ));
    } else if distinct.len() != types.len() {
        errors.push(FieldError::new("event_types", "lists an event type twice"));
    } else if types.contains(&EventType::WebhookTest) {
        errors.push(FieldError::new(
            "event_types",
            "webhook.test is sent on demand (POST /v1/webhooks/{id}/test), not subscribed to",
        ));
    }
}

fn check_description(description: &str, errors: &mut Vec<FieldError>) {
    if description.chars().count() > 200 {
        errors.push(FieldError::new(
            "description",
            "must be at most 200 characters",
        ));
    }
}

/// Subscribes an organisation; the answer holds the signing secret, shown only this once.
pub fn create(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    input: WebhookInput,
    settings: &WebhookSettings,
    seal: &SecretSeal,
) -> Result<CreatedWebhook, Error> {
    let mut errors = Vec::new();
    check_url(&input.url, settings, &mut errors);
    check_event_types(&input.event_types, &mut errors);
    check_description(&input.description, &mut errors);
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    crate::db::transaction(conn, |conn| {
        let count: i64 = webhooks::table
            .filter(webhooks::organisation_id.eq(organisation_id))
            .count()
            .get_result(conn)?;
        if count >= MAX_PER_ORGANISATION {
            return Err(Error::Conflict(format!(
                "an organisation has at most {MAX_PER_ORGANISATION} webhook subscriptions"
            )));
        }
        let now = Timestamp::now();
        let secret = signing::new_secret();
        let id = WebhookId::new();
        let row = WebhookRow {
            id,
            organisation_id,
            url: input.url.clone(),
            description: input.description.trim().to_owned(),
            event_types: Json::of(&input.event_types),
            status: input.status.as_str().to_owned(),
            failing_since: None,
            secret: seal.seal(id, &secret),
            previous_secret: None,
            previous_secret_expires_at: None,
            version: 1,
            created_at: now,
            updated_at: now,
            events_dropped: 0,
        };
        diesel::insert_into(webhooks::table)
            .values(&row)
            .execute(conn)?;
        Ok(CreatedWebhook {
            webhook: row.view(),
            secret,
        })
    })
}

/// The organisation's subscriptions, newest first.
pub fn list(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    page: Page<WebhookId>,
) -> Result<List<Webhook>, Error> {
    let mut query = webhooks::table
        .filter(webhooks::organisation_id.eq(organisation_id))
        .select(WebhookRow::as_select())
        .order(webhooks::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(webhooks::id.lt(after));
    }
    let rows: Vec<WebhookRow> = query.load(conn)?;
    Ok(List::from_rows(rows, &page, |row| row.id).map(|row| row.view()))
}

/// One of the organisation's subscriptions, stored form; another's is not found.
pub(crate) fn row(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    id: WebhookId,
) -> Result<WebhookRow, Error> {
    webhooks::table
        .find(id)
        .filter(webhooks::organisation_id.eq(organisation_id))
        .select(WebhookRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::NotFound("no such webhook subscription".into()))
}

/// One of the organisation's subscriptions.
pub fn get(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    id: WebhookId,
) -> Result<Webhook, Error> {
    Ok(row(conn, organisation_id, id)?.view())
}

/// Changes a subscription's URL, event types, description or status.
pub fn update(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    id: WebhookId,
    patch: WebhookPatch,
    settings: &WebhookSettings,
    precondition: &Precondition,
) -> Result<Webhook, Error> {
    let mut errors = Vec::new();
    if let Some(url) = &patch.url {
        check_url(url, settings, &mut errors);
    }
    if let Some(types) = &patch.event_types {
        check_event_types(types, &mut errors);
    }
    if let Some(description) = &patch.description {
        check_description(description, &mut errors);
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    crate::db::transaction(conn, |conn| {
        let mut row = row(conn, organisation_id, id)?;
        if !precondition.allows(row.id, row.version) {
            return Err(Error::PreconditionFailed);
        }
        if let Some(url) = patch.url {
            row.url = url;
        }
        if let Some(types) = patch.event_types {
            row.event_types = Json::of(&types);
        }
        if let Some(description) = patch.description {
            row.description = description.trim().to_owned();
        }
        if let Some(status) = patch.status {
            row.status = status.as_str().to_owned();
        }
        let read_version = row.version;
        row.version += 1;
        row.updated_at = Timestamp::now();
        let rows = diesel::update(
            webhooks::table
                .find(id)
                .filter(webhooks::version.eq(read_version)),
        )
        .set((
            webhooks::url.eq(&row.url),
            webhooks::event_types.eq(&row.event_types),
            webhooks::description.eq(&row.description),
            webhooks::status.eq(&row.status),
            webhooks::version.eq(row.version),
            webhooks::updated_at.eq(row.updated_at),
        ))
        .execute(conn)?;
        etag::written(rows)?;
        Ok(row.view())
    })
}

/// Deletes a subscription with its deliveries.
pub fn delete(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    id: WebhookId,
    precondition: &Precondition,
) -> Result<(), Error> {
    crate::db::transaction(conn, |conn| {
        let row = row(conn, organisation_id, id)?;
        if !precondition.allows(row.id, row.version) {
            return Err(Error::PreconditionFailed);
        }
        let rows = diesel::delete(
            webhooks::table
                .find(id)
                .filter(webhooks::version.eq(row.version)),
        )
        .execute(conn)?;
        etag::written(rows)
    })
}

/// Replaces the signing secret; the previous one keeps signing alongside for the grace period.
pub fn rotate(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    id: WebhookId,
    settings: &WebhookSettings,
    seal: &SecretSeal,
) -> Result<RotatedSecret, Error> {
    crate::db::transaction(conn, |conn| {
        let row = row(conn, organisation_id, id)?;
        let now = Timestamp::now();
        let until = Timestamp(now.0 + Duration::hours(settings.secret_grace_hours as i64));
        let secret = signing::new_secret();
        // Conditional on the version read: two rotations at once must not both answer a secret
        // when only one of them is kept.
        let rows = diesel::update(
            webhooks::table
                .find(id)
                .filter(webhooks::version.eq(row.version)),
        )
        .set((
            webhooks::secret.eq(seal.seal(id, &secret)),
            webhooks::previous_secret.eq(Some(&row.secret)),
            webhooks::previous_secret_expires_at.eq(Some(until)),
            webhooks::version.eq(row.version + 1),
            webhooks::updated_at.eq(now),
        ))
        .execute(conn)?;
        etag::written(rows)?;
        Ok(RotatedSecret {
            secret,
            previous_secret_expires_at: until.0,
        })
    })
}

/// The active subscriptions of some organisations.
pub(crate) fn active_of(
    conn: &mut DbConnection,
    organisation_ids: &[OrganisationId],
) -> Result<Vec<WebhookRow>, Error> {
    if organisation_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(webhooks::table
        .filter(webhooks::organisation_id.eq_any(organisation_ids))
        .filter(webhooks::status.eq(WebhookStatus::Active.as_str()))
        .select(WebhookRow::as_select())
        .load(conn)?)
}

/// Seals again, each bound to its subscription, the secrets (current and previous) stored
/// before secrets were bound, all in one transaction, so that afterwards only bound secrets
/// need to open. Run at start-up; answers how many subscriptions changed. A secret this
/// instance's key cannot open is left as it is, and said so: an instance with the right keys
/// folder binds it when it starts.
pub fn bind_secrets(conn: &mut DbConnection, seal: &SecretSeal) -> Result<usize, Error> {
    let unbound = format!("{}%", super::sealing::UNBOUND_PREFIX);
    let (bound, unopened) = crate::db::transaction(conn, |conn| {
        let rows: Vec<(WebhookId, String, Option<String>)> = webhooks::table
            .filter(
                webhooks::secret
                    .like(&unbound)
                    .or(webhooks::previous_secret.like(&unbound)),
            )
            .select((webhooks::id, webhooks::secret, webhooks::previous_secret))
            .load(conn)?;
        let (mut bound, mut unopened) = (0, 0);
        for (id, secret, previous) in rows {
            let new_secret = seal.upgrade(id, &secret);
            let new_previous = previous.as_deref().and_then(|p| seal.upgrade(id, p));
            let still_unbound =
                |old: &str, new: &Option<String>| SecretSeal::is_unbound(old) && new.is_none();
            if still_unbound(&secret, &new_secret)
                || previous
                    .as_deref()
                    .is_some_and(|p| still_unbound(p, &new_previous))
            {
                unopened += 1;
            }
            if new_secret.is_none() && new_previous.is_none() {
                continue;
            }
            // Only if unchanged since read: another instance starting at the same moment
            // may have bound it already.
            bound += diesel::update(
                webhooks::table
                    .find(id)
                    .filter(webhooks::secret.eq(&secret)),
            )
            .set((
                webhooks::secret.eq(new_secret.unwrap_or(secret.clone())),
                webhooks::previous_secret.eq(new_previous.or(previous)),
            ))
            .execute(conn)?;
        }
        Ok((bound, unopened))
    })?;
    if bound > 0 {
        tracing::info!(
            subscriptions = bound,
            "webhook secrets bound to their subscriptions"
        );
    }
    if unopened > 0 {
        tracing::warn!(
            subscriptions = unopened,
            "webhook secrets this instance's key cannot open were left unbound: their \
             deliveries fail until an instance with the right keys folder starts"
        );
    }
    Ok(bound)
}
