//! The shared JWT verifier against real user-pool tokens: the JWKS is fetched over HTTP from
//! the local endpoint, access and id tokens verify for what they are and not for the other.

use aws_sdk_cognitoidentityprovider::types::AuthFlowType;
use roster_platform::jwks::{HttpJwks, JwksCache, JwksOptions};
use roster_platform::jwt::{DEFAULT_LEEWAY, JwtVerifier, TokenRejection, TokenUse, VerifierConfig};
use roster_testkit::harness::{self, REGION};

use crate::support::seed_user;

#[tokio::test]
async fn pool_tokens_verify_against_the_pools_jwks_over_http() {
    let stack = harness::provisioned().await;
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&stack.sdk);
    let pool = &stack.provisioned.user_pool_id;
    let client_id = &stack.provisioned.client_ids["account-web"];
    let email = "grace@example.com";
    let password = "Correct-Horse-9-Battery";
    seed_user(&stack, email, password).await;
    cognito
        .admin_add_user_to_group()
        .user_pool_id(pool)
        .username(email)
        .group_name("USER")
        .send()
        .await
        .unwrap();
    let auth = cognito
        .admin_initiate_auth()
        .user_pool_id(pool)
        .client_id(client_id)
        .auth_flow(AuthFlowType::AdminUserPasswordAuth)
        .auth_parameters("USERNAME", email)
        .auth_parameters("PASSWORD", password)
        .send()
        .await
        .unwrap();
    let tokens = auth.authentication_result().unwrap();

    let endpoint = harness::endpoint_url().await;
    let jwks = HttpJwks::new(&format!("{endpoint}/{pool}/.well-known/jwks.json")).unwrap();
    let verifier = JwtVerifier::new(
        JwksCache::new(jwks, JwksOptions::default()),
        VerifierConfig {
            issuer: format!("https://cognito-idp.{REGION}.amazonaws.com/{pool}"),
            client_ids: stack.provisioned.client_ids.values().cloned().collect(),
            leeway: DEFAULT_LEEWAY,
        },
    );
    let access = verifier
        .verify(tokens.access_token().unwrap(), TokenUse::Access)
        .await
        .unwrap();
    assert_eq!(&access.client_id, client_id);
    assert_eq!(access.groups, ["USER"]);
    let id = verifier
        .verify(tokens.id_token().unwrap(), TokenUse::Id)
        .await
        .unwrap();
    assert_eq!(id.sub, access.sub);
    assert_eq!(id.email.as_deref(), Some(email));
    assert_eq!(
        verifier
            .verify(tokens.id_token().unwrap(), TokenUse::Access)
            .await,
        Err(TokenRejection::WrongTokenUse)
    );
}
