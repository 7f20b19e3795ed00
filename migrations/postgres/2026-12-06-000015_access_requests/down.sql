DROP INDEX people_email_lower;
DROP TABLE blocked_organisations;
DROP TABLE access_requests;
