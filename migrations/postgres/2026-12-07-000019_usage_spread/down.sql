DROP FUNCTION xapi_usage_spread(uuid, smallint, bigint, bigint, bigint, bigint, bigint, bigint);
