//! The Auth API's OpenAPI document: OpenAPI 3.1 with exactly the router's operations, each
//! with its security and its problem+json error answers (one assertion for both APIs,
//! `roster_testkit::openapi`).

#[test]
fn documents_every_route_with_security_and_problem_json_errors() {
    let document = serde_json::to_value(roster_auth_api::openapi()).unwrap();
    roster_testkit::openapi::assert_documented(
        &document,
        &[
            "POST /auth/register",
            "POST /auth/activation/resend",
            "POST /auth/login",
            "POST /auth/token/refresh",
            "POST /auth/logout",
            "GET /auth/token/{token_type}/verify/{token}",
            "POST /auth/token/verify",
            "POST /auth/password/forgot",
            "POST /auth/password/confirm",
            "POST /auth/password/change",
            "POST /auth/login/mfa",
            "POST /auth/mfa/totp",
            "POST /auth/mfa/totp/confirm",
            "DELETE /auth/mfa/totp",
            "GET /auth/me/export",
            "GET /auth/users/{id}/export",
            "DELETE /auth/me",
        ],
    );
}
