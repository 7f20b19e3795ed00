// Verify a Learning Passport credential offline with Node's `jose`, with nothing but the
// service's public keys and its status list. The passport's own credential names its key as
// the JWKS does; an Open Badges 3.0 or CLR 2.0 credential names it as a method of its issuer's
// DID (the service's, or an organisation's as the service knows it), resolved as did:web.
//
//   npm install jose
//   node verify_credential.mjs https://passport.example.org CREDENTIAL_JWT
//
// Prints the verdict as JSON; exits 1 when the credential is not valid.
import { createRemoteJWKSet, decodeProtectedHeader, importJWK, jwtVerify } from "jose";
import { gunzipSync } from "node:zlib";

function didWeb(baseUrl) {
  const url = new URL(baseUrl);
  const host = url.hostname + (url.port ? `%3A${url.port}` : "");
  const path = url.pathname.split("/").filter(Boolean).map((p) => `:${p}`).join("");
  return `did:web:${host}${path}`;
}

// did:web resolution (https, or the scheme of the service's URL for a service on plain http).
async function resolveKey(baseUrl, methodId) {
  const did = methodId.split("#")[0];
  const [host, ...path] = did.slice("did:web:".length).split(":").map(decodeURIComponent);
  const scheme = new URL(baseUrl).protocol;
  const url = path.length ? `${scheme}//${host}/${path.join("/")}/did.json` : `${scheme}//${host}/.well-known/did.json`;
  const document = await (await fetch(url)).json();
  const method = document.verificationMethod.find((m) => m.id === methodId);
  if (!method) throw new Error(`${did} has no key ${methodId}`);
  return importJWK(method.publicKeyJwk, "EdDSA");
}

async function main(baseUrl, token) {
  baseUrl = baseUrl.replace(/\/+$/, "");
  const keys = createRemoteJWKSet(new URL(`${baseUrl}/.well-known/jwks.json`));
  const { kid } = decodeProtectedHeader(token);
  const service = didWeb(baseUrl);
  // Only the service's DID, or an organisation's under it, before anything is fetched.
  const issuer = kid.includes("#") ? kid.split("#")[0] : service;
  const escaped = service.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const organisation = new RegExp(`^${escaped}:organisations:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`);
  if (issuer !== service && !organisation.test(issuer)) throw new Error(`not an issuer of this service: ${issuer}`);
  const key = kid.includes("#") ? await resolveKey(baseUrl, kid) : keys;
  const { payload } = await jwtVerify(token, key, { algorithms: ["EdDSA"], issuer, requiredClaims: ["exp", "nbf"] });
  // The passport's credential is the `vc` claim (VC data model 1.1); a VC 2.0 one is the payload.
  const credential = payload.vc ?? payload;
  const status = credential.credentialStatus;
  const list = await (await fetch(status.statusListCredential)).text();
  const { payload: statusList } = await jwtVerify(list, keys, { algorithms: ["EdDSA"], issuer: service });
  const bits = gunzipSync(Buffer.from(statusList.vc.credentialSubject.encodedList.slice(1), "base64url"));
  const index = Number(status.statusListIndex);
  const revoked = (bits[index >> 3] & (0x80 >> (index % 8))) !== 0;
  console.log(JSON.stringify({ valid: !revoked, revoked, credential: payload.jti, issuer, types: credential.type, subject: credential.credentialSubject }));
  return revoked ? 1 : 0;
}

main(process.argv[2], process.argv[3]).then(
  (code) => process.exit(code),
  (error) => {
    console.log(JSON.stringify({ valid: false, error: String(error.code ?? error.message) }));
    process.exit(1);
  },
);
