// Expand a Learning Passport credential, and the status list it points to, as JSON-LD in safe
// mode (jsonld.js): every term must be defined by a context, or expansion fails. The W3C
// contexts come from their npm packages, the passport's own context from the service; nothing
// else is fetched.
//
//   npm install jsonld credentials-context @digitalbazaar/vc-bitstring-status-list-context
//   node expand_credential.mjs https://passport.example.org CREDENTIAL_JWT
//
// Prints {"expanded": true, ...} or {"expanded": false, "error": ...}; exits 1 on failure.
import jsonld from "jsonld";
import credentials from "credentials-context";
import * as statusList from "@digitalbazaar/vc-bitstring-status-list-context";

const known = new Map([...credentials.contexts, ...statusList.contexts]);

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

// The credential a VC-JWT carries (claims other than `vc` are the JWT's own).
function credentialOf(jwt) {
  const payload = JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString("utf8"));
  return payload.vc;
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
