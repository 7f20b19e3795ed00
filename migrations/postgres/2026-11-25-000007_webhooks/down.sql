DROP INDEX grants_expiry_notice;
ALTER TABLE grants DROP COLUMN expiry_notice;
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
