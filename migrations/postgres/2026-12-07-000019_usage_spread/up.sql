-- A write's addition to its slot of an organisation's LRS usage, and the check that follows it,
-- in one round trip (see `xapi::usage::slots::spread`, which gives the reasoning). The addition
-- takes the slot's lock. The sum is then read by a statement of its own: in READ COMMITTED each
-- statement of a VOLATILE function takes a new snapshot, which holds every write committed
-- before this one took its slot. When the sum exceeds the room given (the quotas less what the
-- other slots' writers may add), the addition is rolled back with its block, which gives the
-- slot's lock back, and `added` is false: the caller then counts exactly. `statements`,
-- `documents` and `attachment_bytes` answer the sum read, this write's addition included.
-- The function trusts its caller for what makes this exact: an addition of at most what a
-- write may add on a slot, and the room left beside the other slots' writers, both enforced
-- by `spread`; and a transaction at READ COMMITTED, which `db::transaction` names.
CREATE FUNCTION xapi_usage_spread(
    organisation uuid,
    on_slot smallint,
    add_statements bigint,
    add_documents bigint,
    add_attachment_bytes bigint,
    room_statements bigint,
    room_documents bigint,
    room_attachment_bytes bigint,
    OUT added boolean,
    OUT statements bigint,
    OUT documents bigint,
    OUT attachment_bytes bigint
) LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    BEGIN
        UPDATE xapi_usage u
        SET statements = u.statements + add_statements,
            documents = u.documents + add_documents,
            attachment_bytes = u.attachment_bytes + add_attachment_bytes
        WHERE u.organisation_id = organisation AND u.slot = on_slot;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'slot % of the LRS usage of organisation % is missing', on_slot, organisation;
        END IF;
        SELECT coalesce(sum(u.statements), 0)::bigint, coalesce(sum(u.documents), 0)::bigint,
               coalesce(sum(u.attachment_bytes), 0)::bigint
        INTO statements, documents, attachment_bytes
        FROM xapi_usage u WHERE u.organisation_id = organisation;
        -- Only what grows is checked, as `Usage::admits` does.
        added := (add_statements <= 0 OR statements <= room_statements)
            AND (add_documents <= 0 OR documents <= room_documents)
            AND (add_attachment_bytes <= 0 OR attachment_bytes <= room_attachment_bytes);
        IF NOT added THEN
            RAISE EXCEPTION USING ERRCODE = 'LPU01';
        END IF;
    EXCEPTION WHEN SQLSTATE 'LPU01' THEN
        -- The addition is undone and the slot's lock given back; the sum read is kept.
        added := false;
    END;
END
$$;
