DROP TABLE share_codes;
