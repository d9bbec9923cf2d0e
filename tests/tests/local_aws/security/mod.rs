//! An attacker's view: forged tokens, enumeration, identity takeover, revocation, secrets in logs, CORS, IAM, fuzzing, and SECURITY.md's own references.

pub(crate) mod api_fuzz;
mod cors;
mod enumeration;
mod forged_tokens;
mod iam_from_calls;
mod identity_attributes;
mod log_hygiene;
mod revocation;
mod security_doc;
