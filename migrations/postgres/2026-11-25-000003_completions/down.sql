DROP TABLE record_history;
DROP TABLE activities;
