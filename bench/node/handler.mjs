// The Node.js reference handler for cold starts: what a Node.js 20 version of Roster's API
// function loads at init — the same AWS SDK v3 clients and aws-jwt-verify, clients built once
// at module scope — and a handler answering `GET /health`.
import { CognitoIdentityProviderClient } from "@aws-sdk/client-cognito-identity-provider";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { S3Client } from "@aws-sdk/client-s3";
import { CognitoJwtVerifier } from "aws-jwt-verify";

const cognito = new CognitoIdentityProviderClient({});
const dynamodb = new DynamoDBClient({});
const events = new EventBridgeClient({});
const s3 = new S3Client({});
const verifier = CognitoJwtVerifier.create({
  userPoolId: process.env.USER_POOL_ID ?? "us-east-1_Bench",
  tokenUse: "access",
  clientId: (process.env.APP_CLIENT_IDS ?? "web-client").split(","),
});

export const clients = { cognito, dynamodb, events, s3, verifier };

export async function handler(event) {
  if (event.path === "/health") {
    return { statusCode: 200, headers: { "content-type": "application/json" }, body: '{"status":"ok"}' };
  }
  return { statusCode: 404, body: "" };
}
