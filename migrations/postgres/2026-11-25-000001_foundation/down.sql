DROP TABLE records;
DROP TABLE clients;
DROP TABLE organisations;
DROP TABLE people;
