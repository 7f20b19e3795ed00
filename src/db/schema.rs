//! Table definitions, written by hand to match both migration folders.

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql::{Uuid, UtcTimestamp};

    people (id) {
        id -> Uuid,
        issuer -> Text,
        subject -> Text,
        display_name -> Nullable<Text>,
        email -> Nullable<Text>,
        email_verified -> Bool,
        registration_body -> Nullable<Text>,
        registration_number -> Nullable<Text>,
        version -> Integer,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql::{Uuid, UtcTimestamp};

    organisations (id) {
        id -> Uuid,
        name -> Text,
        ods_code -> Nullable<Text>,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql::{Uuid, UtcTimestamp};

    clients (id) {
        id -> Uuid,
        organisation_id -> Uuid,
        client_id -> Text,
        secret_hash -> Text,
        scopes -> Text,
        created_at -> UtcTimestamp,
        revoked_at -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql::{Uuid, UtcTimestamp, Jsonb};

    records (id) {
        id -> Uuid,
        person_id -> Uuid,
        kind -> Text,
        title -> Text,
        activity_code -> Nullable<Text>,
        provider_name -> Nullable<Text>,
        started_at -> Nullable<UtcTimestamp>,
        completed_at -> Nullable<UtcTimestamp>,
        expires_at -> Nullable<UtcTimestamp>,
        result -> Nullable<Text>,
        score -> Nullable<Double>,
        hours -> Nullable<Double>,
        evidence -> Jsonb,
        notes -> Nullable<Text>,
        hidden -> Bool,
        provenance -> Text,
        issuer_organisation_id -> Nullable<Uuid>,
        external_id -> Nullable<Text>,
        voided_at -> Nullable<UtcTimestamp>,
        void_reason -> Nullable<Text>,
        version -> Integer,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql::UtcTimestamp;

    service_identity (id) {
        id -> Integer,
        issuer -> Nullable<Text>,
        audience -> Nullable<Text>,
        recorded_at -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    data_migrations (name) {
        name -> Text,
    }
}

diesel::joinable!(clients -> organisations (organisation_id));
diesel::joinable!(records -> people (person_id));
diesel::joinable!(records -> organisations (issuer_organisation_id));

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql::{Uuid, UtcTimestamp, Jsonb};

    grants (id) {
        id -> Uuid,
        person_id -> Uuid,
        organisation_id -> Uuid,
        permission -> Text,
        scope -> Jsonb,
        purpose -> Text,
        version -> Integer,
        created_at -> UtcTimestamp,
        expires_at -> UtcTimestamp,
        revoked_at -> Nullable<UtcTimestamp>,
        expiry_notice -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql::{Uuid, UtcTimestamp};

    access_events (id) {
        id -> Uuid,
        person_id -> Nullable<Uuid>,
        organisation_id -> Uuid,
        client_id -> Text,
        grant_id -> Nullable<Uuid>,
        action -> Text,
        resource -> Text,
        allowed -> Bool,
        reason -> Nullable<Text>,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql::UtcTimestamp;

    activities (code) {
        code -> Text,
        title -> Text,
        kind -> Text,
        level -> Nullable<Text>,
        refresher_months -> Nullable<Integer>,
        publisher -> Text,
        source -> Nullable<Text>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql::{Uuid, UtcTimestamp, Jsonb};

    record_history (id) {
        id -> Uuid,
        record_id -> Uuid,
        version -> Integer,
        content -> Jsonb,
        change -> Text,
        changed_by -> Nullable<Uuid>,
        changed_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql::{UtcTimestamp, Jsonb};

    frameworks (code, version) {
        code -> Text,
        version -> Text,
        title -> Text,
        document -> Jsonb,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql::{Uuid, UtcTimestamp, Jsonb};

    attainments (id) {
        id -> Uuid,
        person_id -> Uuid,
        framework_code -> Text,
        framework_version -> Text,
        outcome_code -> Text,
        domain_code -> Text,
        level -> Integer,
        achieved_on -> Date,
        reflection -> Nullable<Text>,
        evidence -> Jsonb,
        status -> Text,
        verification_id -> Nullable<Uuid>,
        version -> Integer,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql::{Uuid, UtcTimestamp};

    attainment_verifications (id) {
        id -> Uuid,
        attainment_id -> Uuid,
        organisation_id -> Uuid,
        assessor_name -> Text,
        assessor_role -> Text,
        level -> Integer,
        comment -> Nullable<Text>,
        verified_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql::{Uuid, UtcTimestamp, Jsonb};

    requirement_profiles (id) {
        id -> Uuid,
        organisation_id -> Uuid,
        name -> Text,
        requirements -> Jsonb,
        version -> Integer,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql::{Uuid, UtcTimestamp, Jsonb};

    credentials (id) {
        id -> Uuid,
        person_id -> Nullable<Uuid>,
        status_list -> Integer,
        status_index -> Integer,
        summary -> Jsonb,
        created_at -> UtcTimestamp,
        expires_at -> UtcTimestamp,
        revoked_at -> Nullable<UtcTimestamp>,
        kid -> Nullable<Text>,
        record_id -> Nullable<Uuid>,
        attainment_id -> Nullable<Uuid>,
    }
}

diesel::joinable!(attainment_verifications -> attainments (attainment_id));
diesel::joinable!(attainment_verifications -> organisations (organisation_id));
diesel::joinable!(record_history -> records (record_id));
diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql::{Jsonb, Uuid, UtcTimestamp};

    webhooks (id) {
        id -> Uuid,
        organisation_id -> Uuid,
        url -> Text,
        description -> Text,
        event_types -> Jsonb,
        status -> Text,
        failing_since -> Nullable<UtcTimestamp>,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_expires_at -> Nullable<UtcTimestamp>,
        version -> Integer,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        events_dropped -> Integer,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql::{Jsonb, Uuid, UtcTimestamp};

    webhook_deliveries (id) {
        id -> Uuid,
        webhook_id -> Uuid,
        event_type -> Text,
        payload -> Jsonb,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> UtcTimestamp,
        retry_from -> UtcTimestamp,
        locked_until -> Nullable<UtcTimestamp>,
        lock_token -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
        delivered_at -> Nullable<UtcTimestamp>,
        person_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql::{Uuid, UtcTimestamp};

    webhook_attempts (id) {
        id -> Uuid,
        delivery_id -> Uuid,
        attempted_at -> UtcTimestamp,
        duration_ms -> Integer,
        status_code -> Nullable<Integer>,
        error -> Nullable<Text>,
        response_excerpt -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql::{Uuid, UtcTimestamp};

    xapi_statements (organisation_id, statement_id) {
        organisation_id -> Uuid,
        statement_id -> Uuid,
        stored -> UtcTimestamp,
        voided -> Bool,
        voids -> Nullable<Uuid>,
        statement -> Text,
        has_attachments -> Bool,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql::Uuid;

    // No primary key in the database; diesel needs one named, and these rows are only ever
    // inserted and filtered, never fetched by key.
    xapi_statement_index (organisation_id, statement_id, kind, value) {
        organisation_id -> Uuid,
        statement_id -> Uuid,
        kind -> Text,
        value -> Text,
        related -> Bool,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql::Uuid;

    xapi_attachments (organisation_id, sha2) {
        organisation_id -> Uuid,
        sha2 -> Text,
        content_type -> Text,
        content -> Binary,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql::Uuid;

    xapi_activities (organisation_id, activity_id) {
        organisation_id -> Uuid,
        activity_id -> Text,
        definition -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql::{Uuid, UtcTimestamp};

    xapi_documents (organisation_id, kind, activity_id, agent, registration, document_id) {
        organisation_id -> Uuid,
        kind -> Text,
        activity_id -> Text,
        agent -> Text,
        registration -> Text,
        document_id -> Text,
        content_type -> Text,
        content -> Binary,
        etag -> Text,
        updated -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql::Uuid;

    xapi_usage (organisation_id, slot) {
        organisation_id -> Uuid,
        slot -> SmallInt,
        statements -> BigInt,
        documents -> BigInt,
        attachment_bytes -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql::{Jsonb, Uuid, UtcTimestamp};

    outbox (id) {
        id -> Uuid,
        event -> Jsonb,
        person_id -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
    }
}

diesel::joinable!(webhooks -> organisations (organisation_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql::{Uuid, UtcTimestamp, Jsonb};

    share_codes (id) {
        id -> Uuid,
        person_id -> Uuid,
        code_hash -> Text,
        permission -> Text,
        scope -> Jsonb,
        purpose -> Text,
        grant_expires_at -> UtcTimestamp,
        created_at -> UtcTimestamp,
        expires_at -> UtcTimestamp,
        revoked_at -> Nullable<UtcTimestamp>,
        redeemed_at -> Nullable<UtcTimestamp>,
        organisation_id -> Nullable<Uuid>,
        client_id -> Nullable<Text>,
        grant_id -> Nullable<Uuid>,
    }
}

diesel::joinable!(share_codes -> organisations (organisation_id));

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql::{Uuid, UtcTimestamp, Jsonb};

    access_requests (id) {
        id -> Uuid,
        organisation_id -> Uuid,
        client_id -> Text,
        addressee -> Text,
        person_id -> Nullable<Uuid>,
        permission -> Text,
        scope -> Jsonb,
        requirement_profile_id -> Nullable<Uuid>,
        purpose -> Text,
        message -> Nullable<Text>,
        duration_days -> Integer,
        status -> Text,
        created_at -> UtcTimestamp,
        expires_at -> UtcTimestamp,
        answered_at -> Nullable<UtcTimestamp>,
        grant_id -> Nullable<Uuid>,
        expiry_told -> Bool,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql::{Uuid, UtcTimestamp};

    blocked_organisations (person_id, organisation_id) {
        person_id -> Uuid,
        organisation_id -> Uuid,
        created_at -> UtcTimestamp,
    }
}

diesel::joinable!(access_requests -> organisations (organisation_id));
diesel::joinable!(blocked_organisations -> organisations (organisation_id));
diesel::joinable!(grants -> people (person_id));
diesel::joinable!(grants -> organisations (organisation_id));
diesel::joinable!(access_events -> organisations (organisation_id));
diesel::allow_tables_to_appear_in_same_query!(
    grants,
    access_events,
    people,
    organisations,
    records,
    clients,
    activities,
    record_history,
    frameworks,
    attainments,
    attainment_verifications,
    requirement_profiles,
    credentials,
    webhooks,
    webhook_deliveries,
    webhook_attempts,
    xapi_statements,
    xapi_statement_index,
    xapi_attachments,
    xapi_activities,
    xapi_documents,
    xapi_usage,
    outbox,
    share_codes,
    access_requests,
    blocked_organisations,
);
