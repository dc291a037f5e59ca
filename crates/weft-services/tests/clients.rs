//! The plain clients of the throwaway servers: a Redis command's reply,
//! and a query's first value.

use weft_services::postgres::Cluster;
use weft_services::redis::Redis;

#[test]
fn redis_answers_strings_integers_and_bulk_strings() {
    let redis = Redis::start();
    assert_eq!(redis.command("DBSIZE").unwrap(), "0");
    assert_eq!(redis.command("SET a 12").unwrap(), "OK");
    assert_eq!(redis.command("GET a").unwrap(), "12");
    assert_eq!(redis.command("DBSIZE").unwrap(), "1");
    assert!(redis.used_memory().unwrap() > 100_000);
    assert!(redis.command("NO_SUCH_COMMAND").is_err());
}

#[test]
fn postgres_answers_a_query() {
    let cluster = Cluster::start();
    cluster.create_database("answers");
    assert_eq!(cluster.query("answers", "SELECT 40 + 2").unwrap(), "42");
    assert!(cluster.query("answers", "SELECT * FROM missing").is_err());
}
