DROP TABLE attainment_verifications;
DROP TABLE attainments;
DROP TABLE frameworks;
