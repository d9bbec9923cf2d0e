//! The local endpoint's `TransactWriteItems` behaves as DynamoDB's (the launcher's patch,
//! `roll_back_transactions_item_by_item`): a cancelled transaction leaves no item changed, no
//! stream record, and the stream a reader already follows keeps delivering. (That it also
//! costs the same however much the table has held is a measurement: `roster-bench
//! propagation`, BENCHMARKS.md.)

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem, Update};
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use roster_infra::resources::USERS_TABLE;
use roster_testkit::harness;

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

#[tokio::test]
async fn a_cancelled_transaction_leaves_no_trace_and_the_stream_goes_on() {
    let stack = harness::provisioned().await;
    let table = stack.names.table(&USERS_TABLE);
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let streams = aws_sdk_dynamodbstreams::Client::new(&stack.sdk);
    let put = |id: &str, n: &str| {
        dynamodb
            .put_item()
            .table_name(&table)
            .item("id", s(id))
            .item("n", AttributeValue::N(n.to_owned()))
    };
    put("kept", "1").send().await.unwrap();

    // A reader follows the stream from now on.
    let arn = dynamodb
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .table
        .unwrap()
        .latest_stream_arn
        .unwrap();
    let stream = streams
        .describe_stream()
        .stream_arn(&arn)
        .send()
        .await
        .unwrap()
        .stream_description
        .unwrap();
    let shard = stream.shards()[0].shard_id().unwrap().to_owned();
    let mut iterator = streams
        .get_shard_iterator()
        .stream_arn(&arn)
        .shard_id(&shard)
        .shard_iterator_type(ShardIteratorType::Latest)
        .send()
        .await
        .unwrap()
        .shard_iterator
        .unwrap();

    // A new item, a change to an existing one, then a condition that fails: all or nothing.
    let cancelled = dynamodb
        .transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&table)
                        .item("id", s("new"))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .transact_items(
            TransactWriteItem::builder()
                .update(
                    Update::builder()
                        .table_name(&table)
                        .key("id", s("kept"))
                        .update_expression("SET n = :two")
                        .expression_attribute_values(":two", AttributeValue::N("2".into()))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .transact_items(
            TransactWriteItem::builder()
                .condition_check(
                    ConditionCheck::builder()
                        .table_name(&table)
                        .key("id", s("absent"))
                        .condition_expression("attribute_exists(id)")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert!(
        cancelled
            .as_service_error()
            .is_some_and(|error| error.is_transaction_canceled_exception()),
        "{cancelled:?}"
    );

    let get = |id: &'static str| {
        dynamodb
            .get_item()
            .table_name(&table)
            .key("id", s(id))
            .consistent_read(true)
            .send()
    };
    assert!(
        get("new").await.unwrap().item.is_none(),
        "the put was undone"
    );
    assert_eq!(
        get("kept").await.unwrap().item.unwrap()["n"],
        AttributeValue::N("1".into()),
        "the update was undone"
    );

    let page = streams
        .get_records()
        .shard_iterator(&iterator)
        .send()
        .await
        .unwrap();
    assert!(page.records().is_empty(), "{:?}", page.records());
    iterator = page.next_shard_iterator.unwrap();

    // The same reader sees the next write, and only it.
    put("after", "3").send().await.unwrap();
    let page = streams
        .get_records()
        .shard_iterator(&iterator)
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = page
        .records()
        .iter()
        .map(|record| {
            let change = record.dynamodb().unwrap();
            (
                record.event_name().unwrap().as_str().to_owned(),
                change.keys().unwrap()["id"].clone(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        vec![(
            "INSERT".to_owned(),
            aws_sdk_dynamodbstreams::types::AttributeValue::S("after".into())
        )]
    );

    // And a transaction that goes through is applied whole, with its stream records.
    dynamodb
        .transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&table)
                        .item("id", s("committed"))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(get("committed").await.unwrap().item.is_some());
}
