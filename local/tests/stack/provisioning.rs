//! Provisioning creates every resource with the declared shape, and doing it twice changes
//! nothing.

use std::collections::BTreeSet;

use aws_sdk_cognitoidentityprovider as cognito;
use aws_sdk_dynamodb as dynamodb;
use aws_sdk_dynamodb::types::{KeyType, ProjectionType, StreamViewType};
use aws_sdk_eventbridge as eventbridge;
use aws_sdk_sqs::types::QueueAttributeName;
use roster_infra::resources::{
    ASSETS, AUTH_FLOWS, AUTH_TABLE, Names, READ_ATTRIBUTES, REGISTRATION_MARKER, SUBSCRIBERS,
    TABLES, USER_POOL, USERS_TABLE,
};
use roster_local::provision::provision;
use roster_platform::api_keys::ApiKeySet;
use roster_testkit::harness;

use roster_testkit::probes::queue_attributes;

fn key_of(schema: &[dynamodb::types::KeySchemaElement], kind: KeyType) -> Option<String> {
    schema
        .iter()
        .find(|element| *element.key_type() == kind)
        .map(|element| element.attribute_name().to_owned())
}

#[tokio::test]
async fn tables_have_their_keys_indexes_and_new_and_old_image_streams() {
    let stack = harness::provisioned().await;
    let client = dynamodb::Client::new(&stack.sdk);
    for spec in TABLES {
        let name = stack.names.table(spec);
        let table = client
            .describe_table()
            .table_name(&name)
            .send()
            .await
            .unwrap()
            .table
            .unwrap();
        let schema = table.key_schema();
        assert_eq!(
            key_of(schema, KeyType::Hash).as_deref(),
            Some(spec.partition_key)
        );
        assert_eq!(key_of(schema, KeyType::Range).as_deref(), spec.sort_key);
        let stream = table.stream_specification().unwrap();
        assert!(stream.stream_enabled());
        assert_eq!(
            stream.stream_view_type(),
            Some(&StreamViewType::from(spec.stream_view.as_str())),
            "{name}: the stream view its owner declares"
        );
        assert!(table.latest_stream_arn().is_some());

        // Each index with its keys and its projection (type, and the attributes it includes).
        let mut indexes: Vec<_> = table
            .global_secondary_indexes()
            .iter()
            .map(|index| {
                let projection = index.projection().unwrap();
                let mut included = projection.non_key_attributes().to_vec();
                included.sort();
                (
                    index.index_name().unwrap().to_owned(),
                    key_of(index.key_schema(), KeyType::Hash).unwrap(),
                    key_of(index.key_schema(), KeyType::Range),
                    projection.projection_type().cloned(),
                    included,
                )
            })
            .collect();
        indexes.sort();
        let mut expected: Vec<_> = spec
            .indexes
            .iter()
            .map(|index| {
                let mut included: Vec<String> = index
                    .projection
                    .non_key_attributes()
                    .iter()
                    .map(|attribute| (*attribute).to_owned())
                    .collect();
                included.sort();
                (
                    index.name.to_owned(),
                    index.partition_key.to_owned(),
                    index.sort_key.map(ToOwned::to_owned),
                    Some(ProjectionType::from(index.projection.type_name())),
                    included,
                )
            })
            .collect();
        expected.sort();
        assert_eq!(indexes, expected, "indexes of {name}");
    }
}

#[tokio::test]
async fn tables_expire_only_bookkeeping_records() {
    let stack = harness::provisioned().await;
    let client = dynamodb::Client::new(&stack.sdk);
    let ttl = |table: String| {
        let client = client.clone();
        async move {
            client
                .describe_time_to_live()
                .table_name(table)
                .send()
                .await
                .unwrap()
                .time_to_live_description
                .and_then(|description| description.attribute_name)
        }
    };
    assert_eq!(
        ttl(stack.names.table(&AUTH_TABLE)).await.as_deref(),
        AUTH_TABLE.ttl_attribute
    );
    // Profiles never expire: the users table's TTL only removes deletion tombstones.
    assert_eq!(
        ttl(stack.names.table(&USERS_TABLE)).await.as_deref(),
        USERS_TABLE.ttl_attribute
    );
}

#[tokio::test]
async fn user_pool_has_the_password_policy_both_groups_and_one_client_per_frontend() {
    let stack = harness::provisioned().await;
    let client = cognito::Client::new(&stack.sdk);
    let pool_id = &stack.provisioned.user_pool_id;
    let pool = client
        .describe_user_pool()
        .user_pool_id(pool_id)
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap();
    let policy = pool.policies().unwrap().password_policy().unwrap();
    let expected = USER_POOL.password;
    assert_eq!(policy.minimum_length(), Some(expected.minimum_length));
    assert_eq!(policy.require_uppercase(), expected.require_uppercase);
    assert_eq!(policy.require_lowercase(), expected.require_lowercase);
    assert_eq!(policy.require_numbers(), expected.require_numbers);
    assert_eq!(policy.require_symbols(), expected.require_symbols);

    let groups: BTreeSet<_> = client
        .list_groups()
        .user_pool_id(pool_id)
        .send()
        .await
        .unwrap()
        .groups()
        .iter()
        .filter_map(|group| group.group_name().map(ToOwned::to_owned))
        .collect();
    assert_eq!(
        groups,
        BTreeSet::from(["ADMIN".to_owned(), "USER".to_owned()])
    );

    assert_eq!(stack.provisioned.client_ids.len(), USER_POOL.clients.len());
    for spec in USER_POOL.clients {
        let client_id = &stack.provisioned.client_ids[spec.frontend];
        let app = client
            .describe_user_pool_client()
            .user_pool_id(pool_id)
            .client_id(client_id)
            .send()
            .await
            .unwrap()
            .user_pool_client
            .unwrap();
        assert_eq!(
            app.client_name(),
            Some(format!("{}-{}", stack.names.prefix(), spec.frontend).as_str())
        );
        assert_eq!(app.client_secret(), None, "frontends cannot keep a secret");
        let flows: BTreeSet<_> = app
            .explicit_auth_flows()
            .iter()
            .map(|f| f.as_str())
            .collect();
        assert_eq!(flows, BTreeSet::from(AUTH_FLOWS));
        let read: BTreeSet<_> = app.read_attributes().iter().map(String::as_str).collect();
        assert_eq!(read, BTreeSet::from(READ_ATTRIBUTES));
        assert_eq!(
            app.prevent_user_existence_errors(),
            Some(&cognito::types::PreventUserExistenceErrorTypes::Enabled)
        );
    }
}

#[tokio::test]
async fn each_subscriber_has_a_rule_a_queue_and_a_dead_letter_queue() {
    let stack = harness::provisioned().await;
    let events = eventbridge::Client::new(&stack.sdk);
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    let bus = stack.names.bus();
    let rules = events
        .list_rules()
        .event_bus_name(&bus)
        .send()
        .await
        .unwrap();
    assert_eq!(rules.rules().len(), SUBSCRIBERS.len());
    for spec in SUBSCRIBERS {
        let facts = stack.provisioned.subscriber(spec);
        let rule = rules
            .rules()
            .iter()
            .find(|rule| rule.name() == Some(facts.rule.as_str()))
            .unwrap_or_else(|| panic!("no rule {}", facts.rule));
        let pattern: serde_json::Value =
            serde_json::from_str(rule.event_pattern().unwrap()).unwrap();
        assert_eq!(
            pattern,
            serde_json::from_str::<serde_json::Value>(&spec.event_pattern()).unwrap()
        );
        assert_eq!(pattern["source"], serde_json::json!(spec.sources));

        let targets = events
            .list_targets_by_rule()
            .rule(&facts.rule)
            .event_bus_name(&bus)
            .send()
            .await
            .unwrap();
        let arns: Vec<_> = targets
            .targets()
            .iter()
            .map(|target| target.arn())
            .collect();
        assert_eq!(arns, [facts.queue_arn.as_str()]);

        let attributes = queue_attributes(&sqs, &facts.queue_url).await;
        let redrive: serde_json::Value =
            serde_json::from_str(&attributes[&QueueAttributeName::RedrivePolicy]).unwrap();
        assert_eq!(
            redrive["deadLetterTargetArn"],
            facts.dead_letter_queue_arn.as_str()
        );
        assert_eq!(
            redrive["maxReceiveCount"].to_string().trim_matches('"'),
            spec.max_receive_count.to_string()
        );
        assert_eq!(
            attributes[&QueueAttributeName::VisibilityTimeout],
            spec.visibility_timeout_seconds.to_string()
        );
    }
}

#[tokio::test]
async fn bucket_holds_the_bundled_assets() {
    let stack = harness::provisioned().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&stack.sdk)
            .force_path_style(true)
            .build(),
    );
    for asset in ASSETS {
        let object = s3
            .get_object()
            .bucket(&stack.provisioned.bucket)
            .key(asset.key)
            .send()
            .await
            .unwrap_or_else(|error| panic!("{}: {error:?}", asset.key));
        assert_eq!(object.content_type(), Some(asset.content_type));
        let body = object.body.collect().await.unwrap().into_bytes();
        assert_eq!(&body[..], asset.body, "{}", asset.key);
    }
    // Swagger UI for the docs pages, read as a browser reads it: anonymously, over HTTP.
    for asset in roster_platform::openapi::DOCS_UI_ASSETS {
        let url = format!(
            "{}/{}/{}",
            harness::endpoint_url().await,
            stack.provisioned.bucket,
            asset.key
        );
        let response = reqwest::get(&url).await.unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK, "{url}");
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            asset.content_type,
            "{url}"
        );
        assert_eq!(&response.bytes().await.unwrap()[..], asset.body, "{url}");
    }
}

#[tokio::test]
async fn api_key_secret_holds_a_key_set() {
    let stack = harness::provisioned().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&stack.sdk);
    let value = secrets
        .get_secret_value()
        .secret_id(&stack.provisioned.api_key_secret)
        .send()
        .await
        .unwrap();
    let set: ApiKeySet = serde_json::from_str(value.secret_string().unwrap()).unwrap();
    assert!(
        set.keys.is_empty(),
        "a new stack holds no key until one is issued"
    );
}

#[tokio::test]
async fn provisioning_again_finds_everything_and_changes_nothing() {
    let stack = harness::provisioned().await;
    let again = provision(&stack.sdk, &stack.names).await.unwrap();
    assert_eq!(again, stack.provisioned);
}

#[tokio::test]
async fn a_users_table_kept_from_an_earlier_version_is_named_not_used() {
    // The users table as versions before the KEYS_ONLY lookup indexes made it, on an endpoint
    // kept between runs: provisioning refuses with what differs and how to start again, and
    // leaves the table as it was.
    let sdk = harness::sdk().await;
    let names = Names::new(harness::unique_prefix());
    let client = dynamodb::Client::new(&sdk);
    let table = names.table(&USERS_TABLE);
    let old_index = |name: &str, key: &str| {
        dynamodb::types::GlobalSecondaryIndex::builder()
            .index_name(name)
            .key_schema(
                dynamodb::types::KeySchemaElement::builder()
                    .attribute_name(key)
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .projection(
                dynamodb::types::Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .unwrap()
    };
    let attribute = |name: &str| {
        dynamodb::types::AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(dynamodb::types::ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    client
        .create_table()
        .table_name(&table)
        .billing_mode(dynamodb::types::BillingMode::PayPerRequest)
        .attribute_definitions(attribute("id"))
        .attribute_definitions(attribute("nameKey"))
        .key_schema(
            dynamodb::types::KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .global_secondary_indexes(old_index("by-name", "nameKey"))
        .stream_specification(
            dynamodb::types::StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let refused = provision(&sdk, &names).await.unwrap_err().to_string();
    assert!(refused.contains(&table), "{refused}");
    assert!(refused.contains("by-name (ALL)"), "{refused}");
    assert!(refused.contains("lookup-by-name (KEYS_ONLY)"), "{refused}");
    assert!(refused.contains("--reset"), "{refused}");
    let kept = client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let indexes: Vec<_> = kept
        .global_secondary_indexes()
        .iter()
        .map(|index| index.index_name().unwrap())
        .collect();
    assert_eq!(indexes, ["by-name"], "the table is left as it was");
    let ttl = client
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    assert_ne!(
        ttl.time_to_live_description()
            .and_then(|description| description.time_to_live_status()),
        Some(&dynamodb::types::TimeToLiveStatus::Enabled),
        "nor its TTL turned on"
    );
}

/// The registration marker as the pool declares it, if it does.
async fn registration_marker(
    client: &cognito::Client,
    pool_id: &str,
) -> Option<cognito::types::SchemaAttributeType> {
    client
        .describe_user_pool()
        .user_pool_id(pool_id)
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap()
        .schema_attributes()
        .iter()
        .find(|attribute| attribute.name() == Some(&REGISTRATION_MARKER.attribute_name()))
        .cloned()
}

#[tokio::test]
async fn the_pool_declares_the_immutable_registration_marker_even_when_made_before_it() {
    let stack = harness::provisioned().await;
    let client = cognito::Client::new(&stack.sdk);
    let marker = registration_marker(&client, &stack.provisioned.user_pool_id)
        .await
        .expect("the marker is declared");
    assert_eq!(marker.mutable(), Some(false), "only a creation sets it");
    assert_eq!(
        marker.attribute_data_type(),
        Some(&cognito::types::AttributeDataType::String)
    );

    // A pool provisioned before the marker existed gets it on the next provisioning.
    let names = Names::new(harness::unique_prefix());
    let old = client
        .create_user_pool()
        .pool_name(names.user_pool())
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap()
        .id
        .unwrap();
    assert!(registration_marker(&client, &old).await.is_none());
    let provisioned = provision(&stack.sdk, &names).await.unwrap();
    assert_eq!(provisioned.user_pool_id, old);
    let added = registration_marker(&client, &old).await.expect("added");
    assert_eq!(added.mutable(), Some(false));
}
