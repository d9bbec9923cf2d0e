// The Node.js reference for token verification in process: aws-jwt-verify with the JWKS
// cached (no network), verifying the same 1,000 tokens as the Rust benchmark
// (target/bench/tokens.json, written by `cargo bench -p roster-platform --bench verify`).
// Prints JSON: microseconds per token, and OpenSSL's bare RS256 check of the same tokens.
//
//   node bench/node/verify.mjs [path/to/tokens.json]
import { readFileSync } from "node:fs";
import { createPublicKey, createVerify } from "node:crypto";
import { CognitoJwtVerifier } from "aws-jwt-verify";

const file = process.argv[2] ?? new URL("../../target/bench/tokens.json", import.meta.url);
const { userPoolId, clientId, jwks, tokens } = JSON.parse(readFileSync(file, "utf8"));

const verifier = CognitoJwtVerifier.create({ userPoolId, tokenUse: "access", clientId });
verifier.cacheJwks(jwks);

function perToken(label, check) {
  // Warm up, then time whole passes over the pool for about 3 s.
  for (const token of tokens) check(token);
  let done = 0;
  const started = process.hrtime.bigint();
  let elapsed = 0n;
  while (elapsed < 3_000_000_000n) {
    for (const token of tokens) check(token);
    done += tokens.length;
    elapsed = process.hrtime.bigint() - started;
  }
  return { label, tokens: done, microsPerToken: Number(elapsed) / 1000 / done };
}

const key = createPublicKey({ key: jwks.keys[0], format: "jwk" });
const parts = tokens.map((token) => {
  const dot = token.lastIndexOf(".");
  return [token.slice(0, dot), Buffer.from(token.slice(dot + 1), "base64url")];
});
let next = 0;

const results = [
  perToken("aws-jwt-verify verifySync (JWKS cached)", (token) => verifier.verifySync(token)),
  perToken("OpenSSL RS256 signature check (node:crypto)", () => {
    const [input, signature] = parts[next];
    next = (next + 1) % parts.length;
    const ok = createVerify("RSA-SHA256").update(input).verify(key, signature);
    if (!ok) throw new Error("a valid token failed");
  }),
];
console.log(JSON.stringify({ node: process.version, results }, null, 2));
