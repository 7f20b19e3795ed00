// Verify a Learning Passport credential offline with Node's `jose`, with nothing but the
// service's public keys and its status list.
//
//   npm install jose
//   node verify_credential.mjs https://passport.example.org CREDENTIAL_JWT
//
// Prints the verdict as JSON; exits 1 when the credential is not valid.
import { createRemoteJWKSet, jwtVerify } from "jose";
import { gunzipSync } from "node:zlib";

function didWeb(baseUrl) {
  const url = new URL(baseUrl);
  const host = url.hostname + (url.port ? `%3A${url.port}` : "");
  const path = url.pathname.split("/").filter(Boolean).map((p) => `:${p}`).join("");
  return `did:web:${host}${path}`;
}

async function main(baseUrl, token) {
  baseUrl = baseUrl.replace(/\/+$/, "");
  const keys = createRemoteJWKSet(new URL(`${baseUrl}/.well-known/jwks.json`));
  const issuer = didWeb(baseUrl);
  const { payload } = await jwtVerify(token, keys, { algorithms: ["EdDSA"], issuer, requiredClaims: ["exp", "nbf"] });
  const status = payload.vc.credentialStatus;
  const list = await (await fetch(status.statusListCredential)).text();
  const { payload: statusList } = await jwtVerify(list, keys, { algorithms: ["EdDSA"], issuer });
  const bits = gunzipSync(Buffer.from(statusList.vc.credentialSubject.encodedList.slice(1), "base64url"));
  const index = Number(status.statusListIndex);
  const revoked = (bits[index >> 3] & (0x80 >> (index % 8))) !== 0;
  console.log(JSON.stringify({ valid: !revoked, revoked, credential: payload.jti, subject: payload.vc.credentialSubject }));
  return revoked ? 1 : 0;
}

main(process.argv[2], process.argv[3]).then(
  (code) => process.exit(code),
  (error) => {
    console.log(JSON.stringify({ valid: false, error: String(error.code ?? error.message) }));
    process.exit(1);
  },
);
