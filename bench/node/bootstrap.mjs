// A minimal Lambda runtime client for the Node.js reference: the loop AWS's runtime runs
// (next invocation, handler, response) against AWS_LAMBDA_RUNTIME_API, with the handler
// imported first, as at init.
import { handler } from "./handler.mjs";

const api = `http://${process.env.AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime`;
for (;;) {
  const next = await fetch(`${api}/invocation/next`);
  const id = next.headers.get("lambda-runtime-aws-request-id");
  const event = await next.json();
  try {
    const result = await handler(event);
    await fetch(`${api}/invocation/${id}/response`, { method: "POST", body: JSON.stringify(result) });
  } catch (error) {
    await fetch(`${api}/invocation/${id}/error`, { method: "POST", body: JSON.stringify({ errorMessage: String(error) }) });
  }
}
