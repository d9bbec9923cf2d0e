//! The User API's OpenAPI document: OpenAPI 3.1 with exactly the router's operations, each
//! with its security and its problem+json error answers (one assertion for both APIs,
//! `roster_testkit::openapi`).

#[test]
fn documents_every_route_with_security_and_problem_json_errors() {
    let document = serde_json::to_value(roster_user_api::openapi()).unwrap();
    roster_testkit::openapi::assert_documented(
        &document,
        &[
            "GET /public/user/me",
            "PATCH /public/user/me/profile",
            "GET /public/user/me/export",
            "GET /user/{id}/export",
            "GET /users",
            "GET /user/{id}",
            "DELETE /user/{id}",
            "GET /user/name/{name}",
            "GET /user/email/{email}",
            "GET /user/handle/{handle}",
            "GET /user/activate/{activationCode}",
            "POST /user/activate",
            "PATCH /user/{id}/status/{status}",
            "PUT /user/{id}/data/update",
            "PATCH /user/{id}/data/update",
            "POST /user/{id}/badge/{name}",
            "DELETE /user/{id}/badge/{name}",
            "POST /user/{id}/avatar",
        ],
    );
}
