//! Creates the resources of [`roster_infra::resources`] on an AWS endpoint. Idempotent: running it
//! again against the same endpoint and prefix finds what exists and creates what is missing.

use std::collections::BTreeMap;

use anyhow::{Context, Result, anyhow, bail};
use aws_config::SdkConfig;
use aws_sdk_cognitoidentityprovider as cognito;
use aws_sdk_dynamodb as dynamodb;
use aws_sdk_eventbridge as eventbridge;
use aws_sdk_s3 as s3;
use aws_sdk_secretsmanager as secretsmanager;
use aws_sdk_sqs as sqs;
use roster_platform::openapi::DOCS_UI_ASSETS;
use serde::Serialize;

use roster_infra::resources::{
    ASSETS, AUTH_FLOWS, CustomAttributeSpec, NONCURRENT_VERSION_DAYS, NONCURRENT_VERSIONS_RULE,
    Names, PUBLIC_PREFIX, READ_ATTRIBUTES, SUBSCRIBERS, SubscriberSpec, TABLES, TableSpec,
    USER_POOL, VERIFIED_BEFORE_UPDATE, WRITE_ATTRIBUTES,
};

/// What provisioning created or found, by role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provisioned {
    pub prefix: String,
    pub region: String,
    pub tables: BTreeMap<&'static str, TableFacts>,
    pub user_pool_id: String,
    /// App client id by frontend.
    pub client_ids: BTreeMap<&'static str, String>,
    pub bus_name: String,
    pub bus_arn: String,
    pub subscribers: BTreeMap<&'static str, QueueFacts>,
    /// Where the stream pollers record the batches they gave up on.
    pub stream_failures_queue_url: String,
    pub bucket: String,
    pub api_key_secret: String,
    pub server_key_secret: String,
    pub user_key_secret: String,
    /// The verified SES identity (a domain) the stack's mail is sent from.
    pub mail_domain: String,
    /// The sender of the activation mail: an address of [`Self::mail_domain`].
    pub mail_from: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableFacts {
    pub name: String,
    pub stream_arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueFacts {
    pub rule: String,
    pub queue_url: String,
    pub queue_arn: String,
    pub dead_letter_queue_url: String,
    pub dead_letter_queue_arn: String,
}

impl Provisioned {
    pub fn table(&self, spec: &TableSpec) -> &TableFacts {
        &self.tables[spec.name]
    }

    pub fn subscriber(&self, spec: &SubscriberSpec) -> &QueueFacts {
        &self.subscribers[spec.name]
    }
}

/// Provisions every resource of the stack named by `names`.
pub async fn provision(sdk: &SdkConfig, names: &Names) -> Result<Provisioned> {
    let region = sdk
        .region()
        .map(ToString::to_string)
        .ok_or_else(|| anyhow!("no AWS region configured"))?;
    let dynamodb = dynamodb::Client::new(sdk);
    let cognito = cognito::Client::new(sdk);
    let eventbridge = eventbridge::Client::new(sdk);
    let sqs = sqs::Client::new(sdk);
    let s3 = s3::Client::from_conf(
        s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build(),
    );
    let secrets = secretsmanager::Client::new(sdk);

    let mut tables = BTreeMap::new();
    for spec in TABLES {
        tables.insert(spec.name, table(&dynamodb, names, spec).await?);
    }
    let mail_identity_arn = mail_identity(&aws_sdk_sesv2::Client::new(sdk), names, &region).await?;
    let user_pool_id = user_pool(&cognito, names, &mail_identity_arn).await?;
    let client_ids = app_clients(&cognito, names, &user_pool_id).await?;
    let (bus_name, bus_arn) = bus(&eventbridge, names).await?;
    let mut subscribers = BTreeMap::new();
    for spec in SUBSCRIBERS {
        let facts = subscriber(&eventbridge, &sqs, names, spec).await?;
        subscribers.insert(spec.name, facts);
    }
    let stream_failures_queue_url = queue(&sqs, &names.stream_failures_queue(), Vec::new()).await?;
    let bucket = bucket(&s3, names, &region).await?;
    let api_key_secret = api_key_secret(&secrets, names).await?;
    let server_key_secret = key_secret(
        &secrets,
        names.server_key_secret(),
        "Roster Auth API server key",
    )
    .await?;
    let user_key_secret = key_secret(
        &secrets,
        names.user_key_secret(),
        "Roster User API key (seals list cursors)",
    )
    .await?;
    Ok(Provisioned {
        prefix: names.prefix().to_owned(),
        region,
        tables,
        user_pool_id,
        client_ids,
        bus_name,
        bus_arn,
        subscribers,
        stream_failures_queue_url,
        bucket,
        api_key_secret,
        server_key_secret,
        user_key_secret,
        mail_domain: names.mail_domain(),
        mail_from: names.mail_from(),
    })
}

/// Verifies the stack's mail domain in SES (on moto a created identity counts as verified,
/// and SES refuses mail from any other sender); returns its ARN, which the pool's email
/// configuration names, as on AWS.
async fn mail_identity(
    client: &aws_sdk_sesv2::Client,
    names: &Names,
    region: &str,
) -> Result<String> {
    let domain = names.mail_domain();
    let exists = client
        .list_email_identities()
        .send()
        .await
        .context("listing SES identities")?
        .email_identities()
        .iter()
        .any(|identity| identity.identity_name() == Some(domain.as_str()));
    if !exists {
        client
            .create_email_identity()
            .email_identity(&domain)
            .send()
            .await
            .with_context(|| format!("verifying the SES identity {domain}"))?;
    }
    Ok(format!(
        "arn:aws:ses:{region}:{}:identity/{domain}",
        LOCAL_ACCOUNT
    ))
}

/// The account every resource of the local endpoint belongs to (moto's).
const LOCAL_ACCOUNT: &str = "123456789012";

async fn table(client: &dynamodb::Client, names: &Names, spec: &TableSpec) -> Result<TableFacts> {
    use dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
        Projection, ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
        TimeToLiveSpecification,
    };

    let name = names.table(spec);
    let key_schema = |partition: &str, sort: Option<&str>| -> Result<Vec<KeySchemaElement>> {
        let mut schema = vec![
            KeySchemaElement::builder()
                .attribute_name(partition)
                .key_type(KeyType::Hash)
                .build()?,
        ];
        if let Some(sort) = sort {
            schema.push(
                KeySchemaElement::builder()
                    .attribute_name(sort)
                    .key_type(KeyType::Range)
                    .build()?,
            );
        }
        Ok(schema)
    };
    let mut attributes: Vec<&str> = vec![spec.partition_key];
    attributes.extend(spec.sort_key);
    for index in spec.indexes {
        attributes.push(index.partition_key);
        attributes.extend(index.sort_key);
    }
    attributes.sort_unstable();
    attributes.dedup();
    let definitions = attributes
        .into_iter()
        .map(|attribute| {
            AttributeDefinition::builder()
                .attribute_name(attribute)
                .attribute_type(ScalarAttributeType::S)
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let indexes = spec
        .indexes
        .iter()
        .map(|index| {
            Ok(GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .set_key_schema(Some(key_schema(index.partition_key, index.sort_key)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(index.projection.type_name()))
                        .set_non_key_attributes(
                            (!index.projection.non_key_attributes().is_empty()).then(|| {
                                index
                                    .projection
                                    .non_key_attributes()
                                    .iter()
                                    .map(|attribute| (*attribute).to_owned())
                                    .collect()
                            }),
                        )
                        .build(),
                )
                .build()?)
        })
        .collect::<Result<Vec<_>>>()?;
    let created = client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(definitions))
        .set_key_schema(Some(key_schema(spec.partition_key, spec.sort_key)?))
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(spec.stream_view.as_str()))
                .build()?,
        )
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) => {}
        Err(error) => {
            return Err(error).with_context(|| format!("creating table {name}"));
        }
    }
    let description = client
        .describe_table()
        .table_name(&name)
        .send()
        .await
        .with_context(|| format!("describing table {name}"))?;
    // A table kept on an endpoint from an earlier run may have been made with other indexes
    // (the users table's lookup indexes were renamed when they became KEYS_ONLY): the code would
    // query indexes it lacks. It is not changed here; the developer chooses.
    let found: BTreeMap<String, String> = description
        .table()
        .map(|table| table.global_secondary_indexes())
        .unwrap_or_default()
        .iter()
        .map(|index| {
            let projection = index
                .projection()
                .and_then(|projection| projection.projection_type())
                .map_or("?", |kind| kind.as_str());
            (
                index.index_name().unwrap_or_default().to_owned(),
                projection.to_owned(),
            )
        })
        .collect();
    let declared: BTreeMap<String, String> = spec
        .indexes
        .iter()
        .map(|index| {
            (
                index.name.to_owned(),
                index.projection.type_name().to_owned(),
            )
        })
        .collect();
    if found != declared {
        let show = |indexes: &BTreeMap<String, String>| {
            indexes
                .iter()
                .map(|(index, projection)| format!("{index} ({projection})"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        bail!(
            "table {name} exists with other indexes than this version declares \
             (found: {}; declared: {}): it was made by an earlier version. Start again with \
             `cargo stack --reset` (everything on the endpoint is wiped), or use another --prefix",
            show(&found),
            show(&declared)
        );
    }
    if let Some(attribute) = spec.ttl_attribute {
        let current = client
            .describe_time_to_live()
            .table_name(&name)
            .send()
            .await
            .with_context(|| format!("reading the TTL of {name}"))?;
        let enabled = current
            .time_to_live_description()
            .and_then(|description| description.attribute_name())
            == Some(attribute);
        if !enabled {
            client
                .update_time_to_live()
                .table_name(&name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .enabled(true)
                        .attribute_name(attribute)
                        .build()?,
                )
                .send()
                .await
                .with_context(|| format!("enabling TTL on {name}"))?;
        }
    }
    let stream_arn = description
        .table()
        .and_then(|table| table.latest_stream_arn())
        .ok_or_else(|| anyhow!("table {name} has no stream"))?
        .to_owned();
    Ok(TableFacts { name, stream_arn })
}

async fn user_pool(
    client: &cognito::Client,
    names: &Names,
    mail_identity_arn: &str,
) -> Result<String> {
    use cognito::types::{
        AccountRecoverySettingType, AdminCreateUserConfigType, EmailConfigurationType,
        EmailSendingAccountType, PasswordPolicyType, RecoveryOptionNameType, RecoveryOptionType,
        UserAttributeUpdateSettingsType, UserPoolPolicyType, UsernameAttributeType,
        UsernameConfigurationType, VerifiedAttributeType,
    };

    let pool_name = names.user_pool();
    let verified: Vec<VerifiedAttributeType> = VERIFIED_BEFORE_UPDATE
        .iter()
        .map(|attribute| VerifiedAttributeType::from(*attribute))
        .collect();
    // A pool found here keeps the settings it was made with: UpdateUserPool resets whatever it
    // is not given (on moto too). moto's state lives as long as its process, so a stack
    // started on a fresh endpoint always makes its pool.
    let pool_id = match find_user_pool(client, &pool_name).await? {
        Some(id) => {
            custom_attributes(client, &id).await?;
            id
        }
        None => {
            let policy = USER_POOL.password;
            let created = client
                .create_user_pool()
                .pool_name(&pool_name)
                .policies(
                    UserPoolPolicyType::builder()
                        .password_policy(
                            PasswordPolicyType::builder()
                                .minimum_length(policy.minimum_length)
                                .require_lowercase(policy.require_lowercase)
                                .require_uppercase(policy.require_uppercase)
                                .require_numbers(policy.require_numbers)
                                .require_symbols(policy.require_symbols)
                                .temporary_password_validity_days(1)
                                .build(),
                        )
                        .build(),
                )
                .set_schema(Some(
                    USER_POOL
                        .custom_attributes
                        .iter()
                        .map(schema_attribute)
                        .collect::<Result<_>>()?,
                ))
                .username_attributes(UsernameAttributeType::Email)
                // An email change waits for the new address to be verified (which Cognito
                // allows only for an auto-verified attribute).
                .set_auto_verified_attributes(Some(verified.clone()))
                .user_attribute_update_settings(
                    UserAttributeUpdateSettingsType::builder()
                        .set_attributes_require_verification_before_update(Some(verified))
                        .build(),
                )
                .username_configuration(
                    UsernameConfigurationType::builder()
                        .case_sensitive(false)
                        .build()?,
                )
                // Identities are created by the Auth API only, never by self sign-up.
                .admin_create_user_config(
                    AdminCreateUserConfigType::builder()
                        .allow_admin_create_user_only(true)
                        .build(),
                )
                // Cognito's own mail (reset codes) goes through the stack's SES identity, as
                // the template's EmailConfiguration has it.
                .email_configuration(
                    EmailConfigurationType::builder()
                        .email_sending_account(EmailSendingAccountType::Developer)
                        .source_arn(mail_identity_arn)
                        .from(names.mail_from())
                        .build(),
                )
                .account_recovery_setting(
                    AccountRecoverySettingType::builder()
                        .recovery_mechanisms(
                            RecoveryOptionType::builder()
                                .name(RecoveryOptionNameType::VerifiedEmail)
                                .priority(1)
                                .build()?,
                        )
                        .build(),
                )
                .send()
                .await
                .with_context(|| format!("creating user pool {pool_name}"))?;
            created
                .user_pool()
                .and_then(|pool| pool.id())
                .ok_or_else(|| anyhow!("CreateUserPool returned no id"))?
                .to_owned()
        }
    };
    mfa_configuration(client, &pool_id).await?;
    for group in USER_POOL.groups {
        let created = client
            .create_group()
            .user_pool_id(&pool_id)
            .group_name(*group)
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_group_exists_exception()) => {}
            Err(error) => return Err(error).with_context(|| format!("creating group {group}")),
        }
    }
    Ok(pool_id)
}

/// The pool's second factors, as the template's `MfaConfiguration` and `EnabledMfas` (what
/// CloudFormation applies with SetUserPoolMfaConfig). Safe to repeat.
async fn mfa_configuration(client: &cognito::Client, pool_id: &str) -> Result<()> {
    use cognito::types::{SoftwareTokenMfaConfigType, UserPoolMfaType};

    if !UserPoolMfaType::values().contains(&USER_POOL.mfa_configuration) {
        return Err(anyhow!(
            "unknown MfaConfiguration {}",
            USER_POOL.mfa_configuration
        ));
    }
    let configuration = UserPoolMfaType::from(USER_POOL.mfa_configuration);
    if USER_POOL
        .enabled_mfas
        .iter()
        .any(|factor| *factor != "SOFTWARE_TOKEN_MFA")
    {
        return Err(anyhow!(
            "only SOFTWARE_TOKEN_MFA is provisioned locally, not {:?}",
            USER_POOL.enabled_mfas
        ));
    }
    client
        .set_user_pool_mfa_config()
        .user_pool_id(pool_id)
        .mfa_configuration(configuration)
        .software_token_mfa_configuration(
            SoftwareTokenMfaConfigType::builder()
                .enabled(USER_POOL.enabled_mfas.contains(&"SOFTWARE_TOKEN_MFA"))
                .build(),
        )
        .send()
        .await
        .with_context(|| format!("setting the MFA configuration of user pool {pool_id}"))?;
    Ok(())
}

fn schema_attribute(spec: &CustomAttributeSpec) -> Result<cognito::types::SchemaAttributeType> {
    use cognito::types::{AttributeDataType, SchemaAttributeType, StringAttributeConstraintsType};

    Ok(SchemaAttributeType::builder()
        .name(spec.name)
        .attribute_data_type(AttributeDataType::String)
        .mutable(spec.mutable)
        .required(false)
        .developer_only_attribute(false)
        .string_attribute_constraints(
            StringAttributeConstraintsType::builder()
                .min_length(spec.min_length.to_string())
                .max_length(spec.max_length.to_string())
                .build(),
        )
        .build())
}

/// Adds the custom attributes a pool made before they were declared lacks (custom attributes
/// can be added to a pool, never changed or removed).
async fn custom_attributes(client: &cognito::Client, pool_id: &str) -> Result<()> {
    let pool = client
        .describe_user_pool()
        .user_pool_id(pool_id)
        .send()
        .await
        .with_context(|| format!("describing user pool {pool_id}"))?;
    let existing: Vec<&str> = pool
        .user_pool()
        .map(|pool| pool.schema_attributes())
        .unwrap_or_default()
        .iter()
        .filter_map(|attribute| attribute.name())
        .collect();
    let missing: Vec<_> = USER_POOL
        .custom_attributes
        .iter()
        .filter(|spec| !existing.contains(&spec.attribute_name().as_str()))
        .map(schema_attribute)
        .collect::<Result<_>>()?;
    if !missing.is_empty() {
        client
            .add_custom_attributes()
            .user_pool_id(pool_id)
            .set_custom_attributes(Some(missing))
            .send()
            .await
            .with_context(|| format!("adding custom attributes to user pool {pool_id}"))?;
    }
    Ok(())
}

pub async fn find_user_pool(client: &cognito::Client, name: &str) -> Result<Option<String>> {
    let mut pages = client
        .list_user_pools()
        .max_results(60)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.context("listing user pools")?;
        if let Some(pool) = page
            .user_pools()
            .iter()
            .find(|pool| pool.name() == Some(name))
        {
            return Ok(pool.id().map(ToOwned::to_owned));
        }
    }
    Ok(None)
}

async fn app_clients(
    client: &cognito::Client,
    names: &Names,
    pool_id: &str,
) -> Result<BTreeMap<&'static str, String>> {
    use cognito::types::{
        ExplicitAuthFlowsType, PreventUserExistenceErrorTypes, TimeUnitsType,
        TokenValidityUnitsType,
    };

    let mut existing = BTreeMap::new();
    let mut pages = client
        .list_user_pool_clients()
        .user_pool_id(pool_id)
        .max_results(60)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for found in page.context("listing app clients")?.user_pool_clients() {
            if let (Some(name), Some(id)) = (found.client_name(), found.client_id()) {
                existing.insert(name.to_owned(), id.to_owned());
            }
        }
    }
    let write_attributes: Vec<String> = WRITE_ATTRIBUTES.iter().map(|a| (*a).to_owned()).collect();
    let mut ids = BTreeMap::new();
    for spec in USER_POOL.clients {
        let name = format!("{}-{}", names.prefix(), spec.frontend);
        let id = match existing.get(&name) {
            Some(id) => {
                limit_writes(client, pool_id, id, &write_attributes).await?;
                id.clone()
            }
            None => client
                .create_user_pool_client()
                .user_pool_id(pool_id)
                .client_name(&name)
                .generate_secret(false)
                .set_explicit_auth_flows(Some(
                    AUTH_FLOWS
                        .iter()
                        .map(|flow| ExplicitAuthFlowsType::from(*flow))
                        .collect(),
                ))
                .set_read_attributes(Some(
                    READ_ATTRIBUTES.iter().map(|a| (*a).to_owned()).collect(),
                ))
                // No identity attribute; never an empty list (that is every attribute).
                .set_write_attributes(Some(write_attributes.clone()))
                .access_token_validity(spec.access_token_minutes)
                .id_token_validity(spec.id_token_minutes)
                .refresh_token_validity(spec.refresh_token_days)
                .token_validity_units(
                    TokenValidityUnitsType::builder()
                        .access_token(TimeUnitsType::Minutes)
                        .id_token(TimeUnitsType::Minutes)
                        .refresh_token(TimeUnitsType::Days)
                        .build(),
                )
                .prevent_user_existence_errors(PreventUserExistenceErrorTypes::Enabled)
                .enable_token_revocation(true)
                .send()
                .await
                .with_context(|| format!("creating app client {name}"))?
                .user_pool_client()
                .and_then(|created| created.client_id())
                .ok_or_else(|| anyhow!("CreateUserPoolClient returned no id"))?
                .to_owned(),
        };
        ids.insert(spec.frontend, id);
    }
    Ok(ids)
}

/// Narrows the `WriteAttributes` of an app client made before they were limited. Local only:
/// moto's UpdateUserPoolClient changes what it is given and keeps the rest (Cognito's would
/// reset the rest, which is why the template, not this, sets them on AWS).
async fn limit_writes(
    client: &cognito::Client,
    pool_id: &str,
    client_id: &str,
    write_attributes: &[String],
) -> Result<()> {
    let described = client
        .describe_user_pool_client()
        .user_pool_id(pool_id)
        .client_id(client_id)
        .send()
        .await
        .with_context(|| format!("describing app client {client_id}"))?;
    let current = described
        .user_pool_client()
        .map(|found| found.write_attributes())
        .unwrap_or_default();
    if current != write_attributes {
        client
            .update_user_pool_client()
            .user_pool_id(pool_id)
            .client_id(client_id)
            .set_write_attributes(Some(write_attributes.to_vec()))
            .send()
            .await
            .with_context(|| format!("limiting the writes of app client {client_id}"))?;
    }
    Ok(())
}

async fn bus(client: &eventbridge::Client, names: &Names) -> Result<(String, String)> {
    let name = names.bus();
    let created = client.create_event_bus().name(&name).send().await;
    match created {
        Ok(_) => {}
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_already_exists_exception()) => {}
        Err(error) => return Err(error).with_context(|| format!("creating event bus {name}")),
    }
    let arn = client
        .describe_event_bus()
        .name(&name)
        .send()
        .await
        .with_context(|| format!("describing event bus {name}"))?
        .arn()
        .ok_or_else(|| anyhow!("event bus {name} has no ARN"))?
        .to_owned();
    Ok((name, arn))
}

async fn subscriber(
    eventbridge: &eventbridge::Client,
    sqs: &sqs::Client,
    names: &Names,
    spec: &SubscriberSpec,
) -> Result<QueueFacts> {
    use sqs::types::QueueAttributeName;

    let bus = names.bus();
    let rule = names.rule(spec);
    let dead_letter_queue_url = queue(sqs, &names.dead_letter_queue(spec), Vec::new()).await?;
    let dead_letter_queue_arn = queue_arn(sqs, &dead_letter_queue_url).await?;
    let rule_arn = eventbridge
        .put_rule()
        .name(&rule)
        .event_bus_name(&bus)
        .event_pattern(spec.event_pattern())
        .description(format!(
            "Delivers {:?} events to {}",
            spec.sources, spec.name
        ))
        .send()
        .await
        .with_context(|| format!("putting rule {rule}"))?
        .rule_arn()
        .unwrap_or_default()
        .to_owned();
    let queue_name = names.queue(spec);
    let redrive = serde_json::json!({
        "deadLetterTargetArn": dead_letter_queue_arn,
        "maxReceiveCount": spec.max_receive_count,
    });
    let queue_url = queue(
        sqs,
        &queue_name,
        vec![
            (
                QueueAttributeName::VisibilityTimeout,
                spec.visibility_timeout_seconds.to_string(),
            ),
            (QueueAttributeName::RedrivePolicy, redrive.to_string()),
        ],
    )
    .await?;
    let queue_arn = deliver_to_queue(
        sqs,
        eventbridge,
        &bus,
        &rule,
        &rule_arn,
        &queue_url,
        "queue",
    )
    .await?;
    Ok(QueueFacts {
        rule,
        queue_url,
        queue_arn,
        dead_letter_queue_url,
        dead_letter_queue_arn,
    })
}

async fn queue(
    client: &sqs::Client,
    name: &str,
    attributes: Vec<(sqs::types::QueueAttributeName, String)>,
) -> Result<String> {
    let mut request = client.create_queue().queue_name(name);
    for (attribute, value) in attributes.iter().cloned() {
        request = request.attributes(attribute, value);
    }
    let created = request.send().await;
    let url = match created {
        Ok(output) => output.queue_url().unwrap_or_default().to_owned(),
        // An existing queue with other attributes: find it and bring it up to date.
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_queue_name_exists()) =>
        {
            let url = client
                .get_queue_url()
                .queue_name(name)
                .send()
                .await
                .with_context(|| format!("finding queue {name}"))?
                .queue_url()
                .unwrap_or_default()
                .to_owned();
            if !attributes.is_empty() {
                client
                    .set_queue_attributes()
                    .queue_url(&url)
                    .set_attributes(Some(attributes.into_iter().collect()))
                    .send()
                    .await
                    .with_context(|| format!("updating queue {name}"))?;
            }
            url
        }
        Err(error) => return Err(error).with_context(|| format!("creating queue {name}")),
    };
    Ok(url)
}

/// Makes `rule` deliver to the queue at `queue_url`: the queue's policy lets that rule (and
/// only it) send, as AWS requires, and the queue becomes the rule's target `target_id`.
/// Returns the queue's ARN.
pub async fn deliver_to_queue(
    sqs: &sqs::Client,
    eventbridge: &eventbridge::Client,
    bus: &str,
    rule: &str,
    rule_arn: &str,
    queue_url: &str,
    target_id: &str,
) -> Result<String> {
    let queue_arn = queue_arn(sqs, queue_url).await?;
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
        }],
    });
    sqs.set_queue_attributes()
        .queue_url(queue_url)
        .attributes(sqs::types::QueueAttributeName::Policy, policy.to_string())
        .send()
        .await
        .with_context(|| format!("setting the policy of {queue_url}"))?;
    let targets = eventbridge
        .put_targets()
        .rule(rule)
        .event_bus_name(bus)
        .targets(
            eventbridge::types::Target::builder()
                .id(target_id)
                .arn(&queue_arn)
                .build()?,
        )
        .send()
        .await
        .with_context(|| format!("putting the target of {rule}"))?;
    if targets.failed_entry_count() > 0 {
        return Err(anyhow!("rule {rule} refused its queue target on {bus}"));
    }
    Ok(queue_arn)
}

async fn queue_arn(client: &sqs::Client, url: &str) -> Result<String> {
    let attributes = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .with_context(|| format!("reading the ARN of {url}"))?;
    attributes
        .attributes()
        .and_then(|attributes| attributes.get(&sqs::types::QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| anyhow!("queue {url} has no ARN"))
}

/// The bucket policy: anyone may read the public prefix (icons, avatars), nothing else.
pub fn public_read_policy(bucket: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "PublicAssets",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": format!("arn:aws:s3:::{bucket}/{PUBLIC_PREFIX}*"),
        }]
    })
    .to_string()
}

async fn bucket(client: &s3::Client, names: &Names, region: &str) -> Result<String> {
    use s3::types::{
        BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
        VersioningConfiguration,
    };

    let bucket = names.bucket();
    let mut request = client.create_bucket().bucket(&bucket);
    if region != "us-east-1" {
        request = request.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    match request.send().await {
        Ok(_) => {}
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_bucket_already_owned_by_you()) => {}
        Err(error) => return Err(error).with_context(|| format!("creating bucket {bucket}")),
    }
    // Versioned, as the template's bucket: a deletion must remove every version, and the
    // lifecycle rule removes noncurrent versions (and then lone delete markers) anywhere else.
    client
        .put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .with_context(|| format!("versioning {bucket}"))?;
    client
        .put_bucket_lifecycle_configuration()
        .bucket(&bucket)
        .lifecycle_configuration(noncurrent_versions_expire()?)
        .send()
        .await
        .with_context(|| format!("setting the lifecycle of {bucket}"))?;
    client
        .put_bucket_policy()
        .bucket(&bucket)
        .policy(public_read_policy(&bucket))
        .send()
        .await
        .with_context(|| format!("opening {bucket}/{PUBLIC_PREFIX} to anonymous reads"))?;
    // The badge icons and default avatars, and Swagger UI for the APIs' docs pages.
    let docs_ui = DOCS_UI_ASSETS
        .iter()
        .map(|asset| (asset.key, asset.content_type, asset.body));
    let assets = ASSETS
        .iter()
        .map(|asset| (asset.key, asset.content_type, asset.body));
    for (key, content_type, body) in assets.chain(docs_ui) {
        client
            .put_object()
            .bucket(&bucket)
            .key(key)
            .content_type(content_type)
            .cache_control("public, max-age=86400")
            .body(s3::primitives::ByteStream::from_static(body))
            .send()
            .await
            .with_context(|| format!("uploading {key}"))?;
    }
    Ok(bucket)
}

/// The template's lifecycle rule: a noncurrent version goes after [`NONCURRENT_VERSION_DAYS`],
/// a delete marker with no version left goes too, and so do abandoned multipart uploads.
fn noncurrent_versions_expire() -> Result<s3::types::BucketLifecycleConfiguration> {
    use s3::types::{
        AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus,
        LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, NoncurrentVersionExpiration,
    };

    Ok(BucketLifecycleConfiguration::builder()
        .rules(
            LifecycleRule::builder()
                .id(NONCURRENT_VERSIONS_RULE)
                .status(ExpirationStatus::Enabled)
                .filter(LifecycleRuleFilter::builder().prefix("").build())
                .noncurrent_version_expiration(
                    NoncurrentVersionExpiration::builder()
                        .noncurrent_days(NONCURRENT_VERSION_DAYS)
                        .build(),
                )
                .expiration(
                    LifecycleExpiration::builder()
                        .expired_object_delete_marker(true)
                        .build(),
                )
                .abort_incomplete_multipart_upload(
                    AbortIncompleteMultipartUpload::builder()
                        .days_after_initiation(1)
                        .build(),
                )
                .build()?,
        )
        .build()?)
}

async fn api_key_secret(client: &secretsmanager::Client, names: &Names) -> Result<String> {
    let empty = serde_json::to_string(&roster_platform::api_keys::ApiKeySet::default())?;
    secret(
        client,
        names.api_key_secret(),
        "Roster server-to-server API keys (hashes only)",
        empty,
    )
    .await
}

/// A service's own key: 32 random bytes, made once. The Auth API's derives activation codes
/// and keys request fingerprints; the User API's seals list cursors.
async fn key_secret(
    client: &secretsmanager::Client,
    name: String,
    description: &str,
) -> Result<String> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|error| anyhow!("no randomness: {error}"))?;
    let value = serde_json::json!({ "serverKey": hex::encode(key) }).to_string();
    secret(client, name, description, value).await
}

/// Creates a secret with an initial value, or leaves an existing one as it is.
async fn secret(
    client: &secretsmanager::Client,
    name: String,
    description: &str,
    initial: String,
) -> Result<String> {
    let created = client
        .create_secret()
        .name(&name)
        .description(description)
        .secret_string(initial)
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_exists_exception()) => {}
        Err(error) => return Err(error).with_context(|| format!("creating secret {name}")),
    }
    Ok(name)
}
