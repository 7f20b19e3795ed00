DROP TABLE service_identity;
