// The Node.js reference for the verify route over HTTP: `POST /auth/token/verify` with
// `{token, tokenType}`, behind the same API-key check (SHA-256 of the presented key, compared
// in constant time with the allowed hashes), verifying with aws-jwt-verify on a cached JWKS.
// One process per core (node:cluster), as a Node service would be run.
//
//   PORT=... USER_POOL_ID=... APP_CLIENT_IDS=a,b API_KEY_HASHES=hex,... JWKS_FILE=... \
//     node bench/node/server.mjs
import cluster from "node:cluster";
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import { availableParallelism } from "node:os";
import { CognitoJwtVerifier } from "aws-jwt-verify";

if (cluster.isPrimary) {
  const workers = Number(process.env.WORKERS ?? availableParallelism());
  for (let i = 0; i < workers; i++) cluster.fork();
  let listening = 0;
  cluster.on("listening", () => {
    if (++listening === workers) console.log(`listening ${process.env.PORT}`);
  });
} else {
  const clientId = process.env.APP_CLIENT_IDS.split(",");
  const userPoolId = process.env.USER_POOL_ID;
  const verifiers = {
    access: CognitoJwtVerifier.create({ userPoolId, tokenUse: "access", clientId }),
    id: CognitoJwtVerifier.create({ userPoolId, tokenUse: "id", clientId }),
  };
  const jwks = JSON.parse(readFileSync(process.env.JWKS_FILE, "utf8"));
  verifiers.access.cacheJwks(jwks);
  verifiers.id.cacheJwks(jwks);
  const allowed = process.env.API_KEY_HASHES.split(",").map((hex) => Buffer.from(hex, "hex"));

  const problem = (res, status, title) => {
    res.writeHead(status, { "content-type": "application/problem+json" });
    res.end(JSON.stringify({ type: "about:blank", title, status }));
  };
  const keyAllowed = (key) => {
    if (!key) return false;
    const hash = createHash("sha256").update(key).digest();
    return allowed.some((candidate) => timingSafeEqual(candidate, hash));
  };

  http
    .createServer((req, res) => {
      if (req.method !== "POST" || req.url !== "/auth/token/verify") return problem(res, 404, "Not Found");
      if (!keyAllowed(req.headers["x-api-key"])) return problem(res, 401, "Unauthorized");
      const chunks = [];
      req.on("data", (chunk) => chunks.push(chunk));
      req.on("end", () => {
        let body;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        } catch {
          return problem(res, 400, "Bad Request");
        }
        const verifier = verifiers[body.tokenType];
        if (!verifier || typeof body.token !== "string") return problem(res, 400, "Bad Request");
        try {
          const claims = verifier.verifySync(body.token);
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({
            sub: claims.sub,
            tokenUse: claims.token_use,
            clientId: claims.client_id ?? claims.aud,
            username: claims.username,
            groups: claims["cognito:groups"] ?? [],
            exp: claims.exp,
          }));
        } catch {
          problem(res, 401, "Unauthorized");
        }
      });
    })
    .listen(Number(process.env.PORT), "127.0.0.1");
}
